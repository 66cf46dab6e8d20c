"""Offline validation of deploy/k8s: every overlay rendered (tests/k8s_render.py, checked against a
real kustomize where one is installed), validated against the real Kubernetes schemas, plus the
cross-references between its documents. The production shape (security, availability, network,
MongoDB and NATS auth) is checked in test_k8s_prod.py."""

from __future__ import annotations

import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from k8s_render import render

from dengar_cli.platform import service_env

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.33"
SERVICES = {"collector": 50051, "nlp": 50052, "insights": 50053, "gateway": 8080}
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
RENDERED = {name: render(K8S / "overlays" / name) for name in OVERLAYS}


def documented_secrets() -> dict[str, set[str]]:
    """The Secrets deploy/k8s/README.md tells an operator to create: {name: keys}."""
    rows: dict[str, set[str]] = {}
    table = False
    for line in (K8S / "README.md").read_text().splitlines():
        if line.startswith("| Secret |"):
            table = True
        elif table and line.startswith("|") and "`" in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0].strip("`")] = set(re.findall(r"`([^`]+)`", cells[1]))
        elif table and not line.startswith("|"):
            table = False
    return rows


def find(docs: list[dict], kind: str, name: str) -> dict:
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    raise AssertionError(f"{kind}/{name} missing")


def secret_keys(docs: list[dict], name: str) -> set[str]:
    """The keys a referenced Secret has: the overlay's own Secret (development placeholders), else
    the one deploy/k8s/README.md tells the operator to create (production defines none)."""
    for d in docs:
        if d["kind"] == "Secret" and d["metadata"]["name"] == name:
            return set(d.get("stringData", {})) | set(d.get("data", {}))
    documented = documented_secrets()
    assert name in documented, f"Secret {name} is neither defined nor documented"
    return documented[name]


def container(docs: list[dict], name: str) -> dict:
    [c] = find(docs, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    return c


DOCS = [(o, d) for o in OVERLAYS for d in RENDERED[o]]
IDS = [f"{o}:{d['kind']}/{d['metadata']['name']}" for o, d in DOCS]


def test_there_are_dev_and_prod_overlays() -> None:
    assert {"dev", "prod"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay,doc", DOCS, ids=IDS)
def test_schema_valid(overlay: str, doc: dict) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_every_file_is_used() -> None:
    """A manifest no kustomization names would never be deployed (nor validated)."""
    for kust_path in K8S.rglob("kustomization.yaml"):
        kust = yaml.safe_load(kust_path.read_text())
        used = set(kust.get("resources", [])) | {p["path"] for p in kust.get("patches", [])}
        files = {p.name for p in kust_path.parent.glob("*.yaml")} - {"kustomization.yaml"}
        assert files <= used, (kust_path, files - used)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name,port", SERVICES.items())
def test_service_deployment_wiring(overlay: str, name: str, port: int) -> None:
    docs = RENDERED[overlay]
    dep = find(docs, "Deployment", name)
    svc = find(docs, "Service", name)
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in dep["spec"]["selector"]["matchLabels"].items())
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    [c] = dep["spec"]["template"]["spec"]["containers"]
    assert c["command"] == ["python", "-m", f"dengar_{name}"]
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    [svc_port] = svc["spec"]["ports"]
    assert ports[svc_port["targetPort"]] == port == svc_port["port"]
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    port_var = service_env(name, "http_port" if name == "gateway" else "grpc_port")
    assert env[port_var] == str(port)
    for probe in ("readinessProbe", "livenessProbe"):
        assert probe in c, f"{name} lacks {probe}"
    assert "requests" in c["resources"] and "limits" in c["resources"]
    # SIGTERM must have time to drain before the kubelet kills the pod.
    config = find(docs, "ConfigMap", "dengar-config")["data"]
    grace = float(config["DENGAR_SHUTDOWN_GRACE_S"])
    assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_targets_point_at_services(overlay: str) -> None:
    docs = RENDERED[overlay]
    data = find(docs, "ConfigMap", "dengar-config")["data"]
    for name, port in SERVICES.items():
        if name == "gateway":
            continue
        host, _, p = data[f"DENGAR_GATEWAY__{name.upper()}_TARGET"].rpartition(":")
        assert host.startswith(f"{name}.dengar.") and int(p) == port
    assert data["DENGAR_NATS_URL"].startswith("nats://nats.dengar.")
    # Each service with a store reads its own MongoDB URI (its own user, in prod) from its own Secret.
    for name in SERVICES:
        refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container(docs, name).get("env", [])
                if "secretKeyRef" in e.get("valueFrom", {})}
        if name == "nlp":
            assert "DENGAR_MONGO_URI" not in refs and "DENGAR_MONGO_URI" not in data
            continue
        ref = refs["DENGAR_MONGO_URI"]
        assert ref["name"] == f"dengar-{name}-mongo" and ref["key"] in secret_keys(docs, ref["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_setting_in_config_is_known(overlay: str) -> None:
    """A typo in the ConfigMap would be silently ignored by pydantic; catch it here."""
    from dengar_common.settings import CommonSettings
    from dengar_gateway.settings import GatewayConfig

    known = {f"DENGAR_{f.upper()}" for f in CommonSettings.model_fields}
    known |= {f"DENGAR_GATEWAY__{f.upper()}" for f in GatewayConfig.model_fields}
    from dengar_nlp.settings import NlpConfig

    known |= {f"DENGAR_NLP__{f.upper()}" for f in NlpConfig.model_fields}
    data = find(RENDERED[overlay], "ConfigMap", "dengar-config")["data"]
    assert set(data) <= known, set(data) - known


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_insights_deployment_env_sets_its_settings(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each variable the insights Deployment sets lands in a setting (a wrong name would be ignored)."""
    from dengar_insights.settings import InsightsSettings

    c = container(RENDERED[overlay], "insights")
    # The entries read from a Secret are secrets (hidden by repr): test_insights_channel_settings.
    for entry in (e for e in c["env"] if "valueFrom" not in e):
        monkeypatch.setenv(entry["name"], "12345")
        settings = InsightsSettings()
        monkeypatch.delenv(entry["name"])
        assert "12345" in repr(settings), entry["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_collector_reads_its_secrets_keys_from_the_secret(overlay: str) -> None:
    docs = RENDERED[overlay]
    [entry] = [e for e in container(docs, "collector")["env"]
               if e["name"] == "DENGAR_COLLECTOR__SECRETS_KEYS"]
    ref = entry["valueFrom"]["secretKeyRef"]
    # Required: without the key the collector must not start (it would store credentials in plaintext).
    assert ref["name"] == "dengar-collector-secrets" and ref.get("optional", False) is False
    assert ref["key"] in secret_keys(docs, "dengar-collector-secrets")
    # No other service mounts the collector's keys.
    for name in ("gateway", "insights", "nlp"):
        other = container(docs, name)
        refs = [f.get("secretRef", {}).get("name") for f in other.get("envFrom", [])]
        refs += [e["valueFrom"].get("secretKeyRef", {}).get("name") for e in other.get("env", [])
                 if "valueFrom" in e]
        assert "dengar-collector-secrets" not in refs
    from dengar_collector.settings import CollectorConfig, CollectorSettings

    # DENGAR_COLLECTOR__SECRETS_KEYS is CollectorSettings.collector.secrets_keys.
    assert CollectorSettings.model_fields["collector"].annotation is CollectorConfig
    assert "secrets_keys" in CollectorConfig.model_fields


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_insights_channel_settings(overlay: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Insights gets what its channels need: the key sealing webhook secrets, and the SMTP host, port,
    user, password and from address; each variable lands in its setting."""
    from dengar_common.secrets import SecretBox, generate_key
    from dengar_insights.settings import InsightsSettings

    docs = RENDERED[overlay]
    c = container(docs, "insights")
    sources = {ref["configMapRef"]["name"]: find(docs, "ConfigMap", ref["configMapRef"]["name"])["data"]
               for ref in c["envFrom"]}
    assert all("configMapRef" in ref for ref in c["envFrom"]), "Secrets are named key by key"
    secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in c["env"]
                   if "secretKeyRef" in e.get("valueFrom", {})}
    # Secrets come from insights' own Secret, never the collector's, and the keys exist in it.
    keys = secret_keys(docs, "dengar-insights-secrets")
    for name in ("DENGAR_INSIGHTS__SECRETS_KEYS", "DENGAR_INSIGHTS__SMTP__PASSWORD",
                 "DENGAR_INSIGHTS__SMTP__USER"):
        ref = secret_refs[name]
        assert ref["name"] == "dengar-insights-secrets" and ref["key"] in keys, name
    # The SMTP settings that are not secret come from a ConfigMap insights mounts.
    smtp = {k: v for data in sources.values() for k, v in data.items() if "__SMTP__" in k}
    assert {"DENGAR_INSIGHTS__SMTP__HOST", "DENGAR_INSIGHTS__SMTP__PORT",
            "DENGAR_INSIGHTS__SMTP__FROM_ADDRESS"} <= set(smtp)
    # The manifests as shipped start: the placeholders are valid settings.
    for data in sources.values():
        for k, v in data.items():
            monkeypatch.setenv(k, v)
    secrets = [d for d in docs
               if d["kind"] == "Secret" and d["metadata"]["name"] == "dengar-insights-secrets"]
    for secret in secrets:
        assert secret["metadata"]["namespace"] == "dengar"
        for name, ref in secret_refs.items():
            if ref["name"] == "dengar-insights-secrets":
                monkeypatch.setenv(name, secret["stringData"][ref["key"]])
    InsightsSettings()
    # Filled in, every variable reaches its setting (a misspelt name would be ignored silently).
    key = generate_key()
    filled = {"DENGAR_INSIGHTS__SMTP__HOST": "smtp.example.com", "DENGAR_INSIGHTS__SMTP__PORT": "2525",
              "DENGAR_INSIGHTS__SMTP__FROM_ADDRESS": "alerts@example.com",
              "DENGAR_INSIGHTS__SMTP__USER": "mailer", "DENGAR_INSIGHTS__SMTP__PASSWORD": "pw-123",
              "DENGAR_INSIGHTS__SECRETS_KEYS": key}
    for k, v in filled.items():
        monkeypatch.setenv(k, v)
    cfg = InsightsSettings().insights
    assert (cfg.smtp.host, cfg.smtp.port, cfg.smtp.from_address, cfg.smtp.user) == (
        "smtp.example.com", 2525, "alerts@example.com", "mailer")
    assert cfg.smtp.password.get_secret_value() == "pw-123"
    assert SecretBox.from_setting(cfg.secrets_keys.get_secret_value()).encrypts
    # Neither insights' Secret nor its SMTP ConfigMap reaches another service.
    for name in ("collector", "gateway", "nlp"):
        other = container(docs, name)
        names = {r.get(k, {}).get("name") for r in other.get("envFrom", []) for k in ("secretRef",
                                                                                       "configMapRef")}
        names |= {e["valueFrom"][k]["name"] for e in other.get("env", []) if "valueFrom" in e
                  for k in ("secretKeyRef", "configMapKeyRef") if k in e["valueFrom"]}
        assert not names & {"dengar-insights-secrets", "dengar-insights-smtp"}, name


def pod_specs(docs: list[dict]) -> list[tuple[str, dict]]:
    kinds = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
    return [(f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"])
            for d in docs if d["kind"] in kinds]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_empty_dir_has_a_size_limit(overlay: str) -> None:
    # An unbounded emptyDir lets one upload (or a runaway log) fill the node's disk.
    seen = 0
    for name, spec in pod_specs(RENDERED[overlay]):
        for volume in spec.get("volumes", []):
            if "emptyDir" in volume:
                seen += 1
                assert (volume["emptyDir"] or {}).get("sizeLimit"), f"{name}: volume {volume['name']}"
    assert seen >= 4


def test_the_collector_refuses_to_start_without_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    from dengar_collector.settings import CollectorSettings
    from dengar_common.settings import ConfigError, load_settings

    # What the manifest gives it when the Secret's key is left empty.
    monkeypatch.setenv("DENGAR_COLLECTOR__SECRETS_KEYS", "")
    with pytest.raises(ConfigError, match="DENGAR_COLLECTOR__SECRETS_KEYS"):
        load_settings(CollectorSettings)


def test_the_readme_run_it_for_real_section_matches_the_manifests() -> None:
    """The README's way into a real deployment: the image the manifests name and `make image`
    builds, every overlay, the Secrets prod needs, and the guides it links to."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index("### Running it for real")
    section = readme[start:readme.index("\n## ", start)]
    images = {c["image"] for docs in RENDERED.values() for _, spec in pod_specs(docs)
              for c in spec["containers"] if "dengar/dengar" in c["image"]}
    [image] = images
    version = re.search(r'^version = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert version and image == f"ghcr.io/dengar/dengar:{version.group(1)}"
    makefile = (ROOT / "Makefile").read_text()
    assert "IMAGE ?= ghcr.io/dengar/dengar:$(VERSION)" in makefile and "\nimage:" in makefile
    assert "make image" in section and image in section and "`Dockerfile`" in section
    assert "kubectl apply -k" in section
    for overlay in OVERLAYS:
        assert f"deploy/k8s/overlays/{overlay}" in section, overlay
    # Brace lists (dengar-{a,b}-mongo) expanded: every Secret prod reads is named.
    named = set()
    for token in re.findall(r"`(dengar-[a-z{},-]+)`", section):
        m = re.fullmatch(r"(.*)\{(.+)\}(.*)", token)
        named |= {f"{m.group(1)}{x}{m.group(3)}" for x in m.group(2).split(",")} if m else {token}
    assert set(documented_secrets()) <= named, set(documented_secrets()) - named
    for link in ("docs/operations.md", "deploy/k8s/README.md"):
        assert f"]({link})" in section and (ROOT / link).is_file(), link
