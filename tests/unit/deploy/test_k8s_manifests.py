"""Offline validation of deploy/k8s: real Kubernetes schemas plus the cross-references between files."""

from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from dengar_cli.platform import service_env

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.33"
SERVICES = {"collector": 50051, "nlp": 50052, "insights": 50053, "gateway": 8080}
# Services whose own settings are nested under their name: DENGAR_<NAME>__<FIELD>.


def _docs() -> list[tuple[Path, dict]]:
    out = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                out.append((path, doc))
    return out


DOCS = _docs()


def _find(kind: str, name: str) -> dict:
    for _, d in DOCS:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    raise AssertionError(f"{kind}/{name} missing")


IDS = [f"{p.name}:{d['kind']}/{d['metadata']['name']}" for p, d in DOCS]


@pytest.mark.parametrize("path,doc", DOCS, ids=IDS)
def test_schema_valid(path: Path, doc: dict) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kustomization_lists_every_file() -> None:
    kust = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kust["resources"]) == files


@pytest.mark.parametrize("name,port", SERVICES.items())
def test_service_deployment_wiring(name: str, port: int) -> None:
    dep = _find("Deployment", name)
    svc = _find("Service", name)
    labels = dep["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in dep["spec"]["selector"]["matchLabels"].items())
    assert all(labels.get(k) == v for k, v in svc["spec"]["selector"].items())
    [container] = dep["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", f"dengar_{name}"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    [svc_port] = svc["spec"]["ports"]
    assert ports[svc_port["targetPort"]] == port == svc_port["port"]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    port_var = service_env(name, "http_port" if name == "gateway" else "grpc_port")
    assert env[port_var] == str(port)
    for probe in ("readinessProbe", "livenessProbe"):
        assert probe in container, f"{name} lacks {probe}"
    assert "requests" in container["resources"] and "limits" in container["resources"]
    # SIGTERM must have time to drain before the kubelet kills the pod.
    config = _find("ConfigMap", "dengar-config")["data"]
    grace = float(config["DENGAR_SHUTDOWN_GRACE_S"])
    assert dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] > grace


def test_config_targets_point_at_services() -> None:
    data = _find("ConfigMap", "dengar-config")["data"]
    for name, port in SERVICES.items():
        if name == "gateway":
            continue
        host, _, p = data[f"DENGAR_GATEWAY__{name.upper()}_TARGET"].rpartition(":")
        assert host.startswith(f"{name}.dengar.") and int(p) == port
    assert data["DENGAR_NATS_URL"].startswith("nats://nats.dengar.")
    secret = _find("Secret", "dengar-secrets")
    assert "DENGAR_MONGO_URI" in secret["stringData"]


def test_every_setting_in_config_is_known() -> None:
    """A typo in the ConfigMap would be silently ignored by pydantic; catch it here."""
    from dengar_common.settings import CommonSettings
    from dengar_gateway.settings import GatewayConfig

    known = {f"DENGAR_{f.upper()}" for f in CommonSettings.model_fields}
    known |= {f"DENGAR_GATEWAY__{f.upper()}" for f in GatewayConfig.model_fields}
    from dengar_nlp.settings import NlpConfig

    known |= {f"DENGAR_NLP__{f.upper()}" for f in NlpConfig.model_fields}
    data = _find("ConfigMap", "dengar-config")["data"]
    assert set(data) <= known, set(data) - known


def test_insights_deployment_env_sets_its_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each variable the insights Deployment sets lands in a setting (a wrong name would be ignored)."""
    from dengar_insights.settings import InsightsSettings

    [container] = _find("Deployment", "insights")["spec"]["template"]["spec"]["containers"]
    # The entries read from a Secret are secrets (hidden by repr): test_insights_channel_settings.
    for entry in (e for e in container["env"] if "valueFrom" not in e):
        monkeypatch.setenv(entry["name"], "12345")
        settings = InsightsSettings()
        monkeypatch.delenv(entry["name"])
        assert "12345" in repr(settings), entry["name"]


def test_collector_reads_its_secrets_keys_from_the_secret() -> None:
    [container] = _find("Deployment", "collector")["spec"]["template"]["spec"]["containers"]
    [entry] = [e for e in container["env"] if e["name"] == "DENGAR_COLLECTOR__SECRETS_KEYS"]
    ref = entry["valueFrom"]["secretKeyRef"]
    # Required: without the key the collector must not start (it would store credentials in plaintext).
    assert ref["name"] == "dengar-collector-secrets" and ref.get("optional", False) is False
    assert ref["key"] in _find("Secret", "dengar-collector-secrets")["stringData"]
    # No other service mounts the collector's keys.
    for name in ("gateway", "insights", "nlp"):
        [other] = _find("Deployment", name)["spec"]["template"]["spec"]["containers"]
        refs = [f.get("secretRef", {}).get("name") for f in other.get("envFrom", [])]
        assert "dengar-collector-secrets" not in refs
    from dengar_collector.settings import CollectorConfig, CollectorSettings

    # DENGAR_COLLECTOR__SECRETS_KEYS is CollectorSettings.collector.secrets_keys.
    assert CollectorSettings.model_fields["collector"].annotation is CollectorConfig
    assert "secrets_keys" in CollectorConfig.model_fields


def _insights_env() -> tuple[dict, dict[str, dict]]:
    """The insights container and the env sources it names: {kind/name: data}."""
    [container] = _find("Deployment", "insights")["spec"]["template"]["spec"]["containers"]
    return container, {f"{kind}/{name}": data for kind, name, data in (
        ("ConfigMap", ref["configMapRef"]["name"],
         _find("ConfigMap", ref["configMapRef"]["name"])["data"]) if "configMapRef" in ref else
        ("Secret", ref["secretRef"]["name"], _find("Secret", ref["secretRef"]["name"])["stringData"])
        for ref in container["envFrom"])}


def test_insights_channel_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Insights gets what its channels need: the key sealing webhook secrets, and the SMTP host, port,
    user, password and from address; each variable lands in its setting."""
    from dengar_common.secrets import SecretBox, generate_key
    from dengar_insights.settings import InsightsSettings

    container, sources = _insights_env()
    secret_refs = {e["name"]: e["valueFrom"]["secretKeyRef"] for e in container["env"] if "valueFrom" in e}
    # Secrets come from insights' own Secret, never the collector's, and the keys exist in it.
    secret = _find("Secret", "dengar-insights-secrets")
    for name in ("DENGAR_INSIGHTS__SECRETS_KEYS", "DENGAR_INSIGHTS__SMTP__PASSWORD",
                 "DENGAR_INSIGHTS__SMTP__USER"):
        ref = secret_refs[name]
        assert ref["name"] == "dengar-insights-secrets" and ref["key"] in secret["stringData"], name
    assert secret["metadata"]["namespace"] == "dengar"
    # The SMTP settings that are not secret come from a ConfigMap insights mounts.
    smtp = {k: v for data in sources.values() for k, v in data.items() if "__SMTP__" in k}
    assert {"DENGAR_INSIGHTS__SMTP__HOST", "DENGAR_INSIGHTS__SMTP__PORT",
            "DENGAR_INSIGHTS__SMTP__FROM_ADDRESS"} <= set(smtp)
    # The manifests as shipped start: the placeholders are valid settings.
    for data in sources.values():
        for k, v in data.items():
            monkeypatch.setenv(k, v)
    for name, ref in secret_refs.items():
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
        [other] = _find("Deployment", name)["spec"]["template"]["spec"]["containers"]
        names = {r.get(k, {}).get("name") for r in other.get("envFrom", []) for k in ("secretRef",
                                                                                       "configMapRef")}
        names |= {e["valueFrom"][k]["name"] for e in other.get("env", []) if "valueFrom" in e
                  for k in ("secretKeyRef", "configMapKeyRef") if k in e["valueFrom"]}
        assert not names & {"dengar-insights-secrets", "dengar-insights-smtp"}, name


def _pod_specs() -> list[tuple[str, dict]]:
    kinds = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
    return [(f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"])
            for _, d in DOCS if d["kind"] in kinds]


def test_every_empty_dir_has_a_size_limit() -> None:
    # An unbounded emptyDir lets one upload (or a runaway log) fill the node's disk.
    seen = 0
    for name, spec in _pod_specs():
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
