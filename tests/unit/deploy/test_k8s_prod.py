"""The production shape of deploy/k8s, on the rendered overlays: hardened pods, Secrets referenced
and never inlined, availability (PDBs, HPAs, spread), NetworkPolicies (which pod may reach which
port, derived from the services' settings), the MongoDB replica set's users and the NATS cluster's.
The optional KEDA component is rendered on top of prod and checked as far as offline schemas go."""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from k8s_render import kustomize_command, render, render_with_binary
from test_k8s_manifests import (
    K8S,
    K8S_VERSION,
    OVERLAYS,
    RENDERED,
    ROOT,
    SERVICES,
    documented_secrets,
    find,
    pod_specs,
)

PROD = RENDERED["prod"]
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "Job"}
# Dengar's own pods, by the label every selector uses.
NAME = "app.kubernetes.io/name"


def _keda_overlay(tmp_path: Path) -> Path:
    """prod + components/keda, as an operator's own overlay would combine them."""
    rel = os.path.relpath(K8S, tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        f"resources: [{rel}/overlays/prod]\ncomponents: [{rel}/components/keda]\n")
    return tmp_path


# --- rendering -------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", [*OVERLAYS, "prod+keda"])
def test_the_renderer_agrees_with_kustomize(overlay: str, tmp_path: Path) -> None:
    command = kustomize_command()
    if command is None:
        pytest.skip("neither kustomize nor kubectl is installed: the tests' renderer stands alone")
    path = _keda_overlay(tmp_path) if overlay == "prod+keda" else K8S / "overlays" / overlay

    def by_id(docs: list[dict]) -> dict[tuple[str, str], dict]:
        return {(d["kind"], d["metadata"]["name"]): d for d in docs}

    assert by_id(render(path)) == by_id(render_with_binary(command, path))


# --- security --------------------------------------------------------------------------------------

@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_hardened(overlay: str) -> None:
    specs = pod_specs(RENDERED[overlay])
    assert len(specs) >= 6
    for name, spec in specs:
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] > 0, name
        assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec.get("automountServiceAccountToken") is False, name
        for c in spec["containers"] + spec.get("initContainers", []):
            where = f"{name}/{c['name']}"
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"] and "add" not in sc["capabilities"], where
            assert "privileged" not in sc and sc.get("runAsUser", 1) != 0, where
            res = c["resources"]
            assert {"cpu", "memory"} <= set(res["requests"]), where
            assert {"cpu", "memory"} <= set(res["limits"]), where


def _secret_refs(docs: list[dict]) -> dict[str, set[str]]:
    """Every Secret a pod reads: {name: keys}, keys empty for a whole-Secret reference."""
    refs: dict[str, set[str]] = {}
    for _, spec in pod_specs(docs):
        for c in spec["containers"] + spec.get("initContainers", []):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    refs.setdefault(ref["name"], set()).add(ref["key"])
            for e in c.get("envFrom", []):
                if "secretRef" in e:
                    refs.setdefault(e["secretRef"]["name"], set())
        for v in spec.get("volumes", []):
            if "secret" in v:
                refs.setdefault(v["secret"]["secretName"], set()).update(
                    i["key"] for i in v["secret"].get("items", []))
    return refs


def test_prod_references_secrets_and_never_inlines_one() -> None:
    assert not [d for d in PROD if d["kind"] == "Secret"], "prod must not carry Secret values"
    # What the pods read is exactly what the README tells the operator to create.
    assert _secret_refs(PROD) == documented_secrets()
    keyfile = [v for _, s in pod_specs(PROD) for v in s.get("volumes", []) if "secret" in v]
    assert [v["secret"]["secretName"] for v in keyfile] == ["dengar-mongodb-keyfile"]
    # The collector's key is required, every overlay.
    for docs in RENDERED.values():
        [c] = find(docs, "Deployment", "collector")["spec"]["template"]["spec"]["containers"]
        [ref] = [e["valueFrom"]["secretKeyRef"] for e in c["env"]
                 if e["name"] == "DENGAR_COLLECTOR__SECRETS_KEYS"]
        assert ref.get("optional", False) is False


def test_the_dev_secrets_cover_what_its_pods_read() -> None:
    docs = RENDERED["dev"]
    defined = {d["metadata"]["name"]: set(d["stringData"]) for d in docs if d["kind"] == "Secret"}
    for name, keys in _secret_refs(docs).items():
        assert keys <= defined[name], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_env_references_are_defined_before_use(overlay: str) -> None:
    """Kubernetes expands $(VAR) only from variables defined earlier in the same container; a later
    or missing one stays literally in the value (a password of "$(NATS_PASSWORD)")."""
    for name, spec in pod_specs(RENDERED[overlay]):
        for c in spec["containers"] + spec.get("initContainers", []):
            seen: set[str] = set()
            for e in c.get("env", []):
                for var in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", e.get("value", "")):
                    assert var in seen, f"{name}/{c['name']}: {e['name']} uses $({var}) before it is set"
                seen.add(e["name"])


# --- availability ----------------------------------------------------------------------------------

def _pod_labels(docs: list[dict]) -> dict[str, dict[str, str]]:
    return {f"{d['kind']}/{d['metadata']['name']}": d["spec"]["template"]["metadata"]["labels"]
            for d in docs if d["kind"] in WORKLOADS}


def _matches(selector: dict, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels", "matchExpressions"}, f"unsupported selector {selector}"
    if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        ok = {"In": key in labels and labels[key] in values,
              "NotIn": key not in labels or labels[key] not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def test_prod_availability() -> None:
    labels = _pod_labels(PROD)
    workloads = {d["metadata"]["name"]: d for d in PROD if d["kind"] in {"Deployment", "StatefulSet"}}
    pdbs = [d for d in PROD if d["kind"] == "PodDisruptionBudget"]
    for name, w in workloads.items():
        own = w["spec"]["template"]["metadata"]["labels"]
        covering = [p for p in pdbs if _matches(p["spec"]["selector"], own)]
        assert len(covering) == 1, f"{name}: {len(covering)} PodDisruptionBudgets"
        # One budget never spans two workloads.
        assert [k for k, v in labels.items() if _matches(covering[0]["spec"]["selector"], v)] == [
            f"{w['kind']}/{name}"]
        spread = w["spec"]["template"]["spec"]["topologySpreadConstraints"]
        assert {c["topologyKey"] for c in spread} == {"kubernetes.io/hostname",
                                                      "topology.kubernetes.io/zone"}
        for c in spread:
            assert _matches(c["labelSelector"], own), name
    for name in ("nats", "mongodb"):
        assert workloads[name]["spec"]["replicas"] == 3
        [host] = [c for c in workloads[name]["spec"]["template"]["spec"]["topologySpreadConstraints"]
                  if c["topologyKey"] == "kubernetes.io/hostname"]
        # Two members on one node would lose the quorum together.
        assert host["whenUnsatisfiable"] == "DoNotSchedule", name
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d for d in PROD if d["kind"] == "HorizontalPodAutoscaler"}
    assert set(hpas) == {"nlp", "insights"}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment" and name in workloads
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        # The HPA owns the count: a fixed one in the manifest would reset it on every apply.
        assert "replicas" not in workloads[name]["spec"], name


# --- network ---------------------------------------------------------------------------------------

def _pods(docs: list[dict]) -> dict[str, dict]:
    """Each workload's pod: labels, its namespace's labels, and the ports its containers expose, by
    number and by name."""
    out = {}
    namespaces = {d["metadata"]["name"]: {**d["metadata"].get("labels", {}),
                                          "kubernetes.io/metadata.name": d["metadata"]["name"]}
                  for d in docs if d["kind"] == "Namespace"}
    for d in docs:
        if d["kind"] in WORKLOADS:
            spec = d["spec"]["template"]["spec"]
            ports = {p["containerPort"]: p.get("name")
                     for c in spec["containers"] for p in c.get("ports", [])}
            out[d["metadata"]["name"]] = {"labels": d["spec"]["template"]["metadata"]["labels"],
                                          "namespace": namespaces[d["metadata"]["namespace"]],
                                          "ports": ports}
    return out


def _foreign_pod(namespace: str, ns_labels: dict[str, str], ports: dict[int, str] | None = None) -> dict:
    """A pod of another namespace (in-cluster, so a private address): a collector, Prometheus..."""
    return {"labels": {"app.kubernetes.io/name": "someone-else"}, "ports": ports or {},
            "namespace": {**ns_labels, "kubernetes.io/metadata.name": namespace}}


def _port_matches(rule_ports: list[dict] | None, port: int, pod: dict) -> bool:
    if rule_ports is None:
        return True
    for p in rule_ports:
        value = p.get("port")
        if value is None or value == port or value == pod["ports"].get(port):
            return True
    return False


def _peer_matches(peers: list[dict] | None, pod: dict | None) -> bool:
    """``pod`` None is a client outside the namespace (the internet, an ingress controller)."""
    if peers is None:
        return True
    for peer in peers:
        if "ipBlock" in peer:
            block = ipaddress.ip_network(peer["ipBlock"]["cidr"])
            # A public-internet block lets outside clients in; it never names a pod's (private) address.
            if pod is None and block.prefixlen == 0:
                return True
            continue
        if pod is None:
            continue
        if "namespaceSelector" in peer:
            # Pods of the namespaces it selects (all of their pods without a podSelector).
            if (_matches_or_all(peer["namespaceSelector"], pod["namespace"])
                    and _matches_or_all(peer.get("podSelector", {}), pod["labels"])):
                return True
            continue
        # A podSelector alone: pods of the policy's own namespace (Dengar's).
        if pod["namespace"].get("kubernetes.io/metadata.name") == "dengar" and _matches(
                peer["podSelector"], pod["labels"]):
            return True
    return False


def _allowed(docs: list[dict], direction: str, pod: dict, peer: dict | None, port: int,
             target: dict) -> bool:
    """Whether the policies selecting ``pod`` allow ``direction`` traffic with ``peer`` on ``port``
    of ``target``. A pod no policy of that direction selects is open (Kubernetes' default)."""
    policies = [p for p in docs if p["kind"] == "NetworkPolicy"
                and _matches_or_all(p["spec"]["podSelector"], pod["labels"])
                and direction.capitalize() in p["spec"]["policyTypes"]]
    if not policies:
        return True
    key = "from" if direction == "ingress" else "to"
    return any(_peer_matches(rule.get(key), peer) and _port_matches(rule.get("ports"), port, target)
               for p in policies for rule in p["spec"].get(direction, []))


def _matches_or_all(selector: dict, labels: dict[str, str]) -> bool:
    return selector == {} or _matches(selector, labels)


def _expected_edges() -> set[tuple[str, str, int]]:
    """Who must reach whom, from the code: gRPC callers from the settings' *_target fields, store
    users from their `db` setting, NATS users from their bootstrap connecting to it."""
    import importlib

    edges: set[tuple[str, str, int]] = set()
    for svc in SERVICES:
        module = importlib.import_module(f"dengar_{svc}.settings")
        config = getattr(module, f"{svc.capitalize()}Config")
        for field in config.model_fields:
            if field.endswith("_target"):
                callee = field.removesuffix("_target")
                edges.add((svc, callee, SERVICES[callee]))
        if "db" in config.model_fields:
            edges.add((svc, "mongodb", 27017))
        bootstrap = (ROOT / "services" / svc / f"dengar_{svc}" / "bootstrap.py").read_text()
        if "connect_nats(" in bootstrap:
            edges.add((svc, "nats", 4222))
    edges |= {("nats", "nats", 6222), ("mongodb", "mongodb", 27017)}
    return edges


def test_network_policies_select_real_pods_and_ports() -> None:
    pods = _pods(PROD)
    policies = [d for d in PROD if d["kind"] == "NetworkPolicy"]
    default = [p for p in policies if p["spec"]["podSelector"] == {}
               and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}]
    assert default and all(not p["spec"].get("ingress") and not p["spec"].get("egress") for p in default)
    for p in policies:
        selector = p["spec"]["podSelector"]
        selected = [n for n, pod in pods.items() if _matches_or_all(selector, pod["labels"])]
        assert selected, f"NetworkPolicy {p['metadata']['name']} selects no pod"
        for direction, key in (("ingress", "from"), ("egress", "to")):
            for rule in p["spec"].get(direction, []):
                peers = [peer for peer in rule.get(key, []) if "podSelector" in peer
                         and "namespaceSelector" not in peer]
                for peer in peers:
                    peer_pods = [n for n, pod in pods.items() if _matches(peer["podSelector"], pod["labels"])]
                    assert peer_pods, f"{p['metadata']['name']}: {peer} matches no pod"
                # Every port an ingress rule opens exists on the pods it protects; every egress port
                # on the pods it names.
                targets = selected if direction == "ingress" else [
                    n for n, pod in pods.items() for peer in peers
                    if _matches(peer["podSelector"], pod["labels"])]
                for port in rule.get("ports", []):
                    # Egress to other namespaces names pods these manifests do not hold.
                    if not targets or (direction == "egress" and "namespaceSelector" in str(rule.get(key))):
                        continue
                    for t in targets:
                        names = set(pods[t]["ports"]) | set(pods[t]["ports"].values())
                        assert port["port"] in names, f"{p['metadata']['name']}: {t} has no port {port}"


def test_network_policies_allow_exactly_the_callers() -> None:
    pods = _pods(PROD)
    expected = _expected_edges()
    assert ("gateway", "collector", 50051) in expected and ("insights", "nlp", 50052) in expected
    actual = set()
    for src, src_pod in pods.items():
        for dst, dst_pod in pods.items():
            for port in dst_pod["ports"]:
                if (_allowed(PROD, "egress", src_pod, dst_pod, port, dst_pod)
                        and _allowed(PROD, "ingress", dst_pod, src_pod, port, dst_pod)):
                    actual.add((src, dst, port))
    assert actual == expected, {"missing": expected - actual, "extra": actual - expected}
    # From outside the namespace only the gateway's HTTP port (probes come from the kubelet).
    outside = {(dst, port) for dst, pod in pods.items() for port in pod["ports"]
               if _allowed(PROD, "ingress", pod, None, port, pod)}
    assert outside == {("gateway", 8080)}


# --- telemetry -------------------------------------------------------------------------------------

# The namespace labels deploy/k8s/README.md tells the operator to set: the OTLP collector's, and
# Prometheus'.
TELEMETRY_NS = {"dengar.io/telemetry": "true"}
MONITORING_NS = {"dengar.io/monitoring": "true"}
OTLP_PORTS = {4317, 4318}
# What else a pod in those namespaces might listen on, or scrape: none of it may open.
PROBE_PORTS = sorted(OTLP_PORTS | {53, 80, 443, 4222, 6222, 8080, 8222, 9090, 9464, 27017, 50051, 50052,
                                   50053})


def _metrics_port() -> int:
    return int(find(PROD, "ConfigMap", "dengar-config")["data"]["DENGAR_PROMETHEUS_PORT"])


def test_prod_services_serve_prometheus_on_their_metrics_port(monkeypatch: pytest.MonkeyPatch) -> None:
    from dengar_common.settings import CommonSettings, load_settings

    config = find(PROD, "ConfigMap", "dengar-config")["data"]
    port = _metrics_port()
    # The setting the services read, bound where a scraper from another pod can reach it.
    for k, v in config.items():
        monkeypatch.setenv(k, v)
    settings = load_settings(CommonSettings)
    assert settings.prometheus_port == port and settings.bind_host == "0.0.0.0"
    for name in SERVICES:
        dep = find(PROD, "Deployment", name)
        [c] = dep["spec"]["template"]["spec"]["containers"]
        assert {"configMapRef": {"name": "dengar-config"}} in c["envFrom"], name
        assert "DENGAR_PROMETHEUS_PORT" not in {e["name"] for e in c.get("env", [])}, name
        assert {p["name"]: p["containerPort"] for p in c["ports"]}["metrics"] == port, name
        annotations = dep["spec"]["template"]["metadata"]["annotations"]
        assert annotations["prometheus.io/scrape"] == "true", name
        assert annotations["prometheus.io/port"] == str(port), name
    # NATS and MongoDB have no such endpoint, and claim none.
    for name in ("nats", "mongodb"):
        sts = find(PROD, "StatefulSet", name)
        assert "prometheus.io/scrape" not in sts["spec"]["template"]["metadata"].get("annotations", {})


def test_telemetry_flows_only_to_and_from_the_labelled_namespaces() -> None:
    pods = _pods(PROD)
    port = _metrics_port()
    outsiders = {
        "otel-collector": _foreign_pod("observability", TELEMETRY_NS, {4317: "otlp-grpc", 4318: "otlp-http"}),
        "prometheus": _foreign_pod("monitoring", MONITORING_NS, {9090: "web"}),
        "stranger": _foreign_pod("elsewhere", {}, {4317: "otlp-grpc", 9090: "web"}),
    }
    # Out: each of the four services to the collector's two OTLP ports, nothing else to those pods
    # (NATS and MongoDB export nothing).
    egress = {(src, who, p) for src, pod in pods.items() for who, peer in outsiders.items()
              for p in PROBE_PORTS if _allowed(PROD, "egress", pod, peer, p, peer)}
    assert egress == {(svc, "otel-collector", p) for svc in SERVICES for p in OTLP_PORTS}
    # In: Prometheus to each service's metrics port, and nothing else from any of them beyond what
    # everyone may reach (the gateway's HTTP port).
    public = {(dst, p) for dst, pod in pods.items() for p in pod["ports"]
              if _allowed(PROD, "ingress", pod, None, p, pod)}
    assert public == {("gateway", 8080)}
    ingress = {(who, dst, p) for dst, pod in pods.items() for who, peer in outsiders.items()
               for p in pod["ports"]
               if _allowed(PROD, "ingress", pod, peer, p, pod) and (dst, p) not in public}
    assert ingress == {("prometheus", svc, port) for svc in SERVICES}
    # The rules name the port the containers expose, not a number that could drift from it.
    [policy] = [d for d in PROD if d["kind"] == "NetworkPolicy" and d["metadata"]["name"] == "telemetry"]
    assert [p["port"] for r in policy["spec"]["ingress"] for p in r["ports"]] == ["metrics"]


# --- MongoDB and NATS ------------------------------------------------------------------------------

def _env(c: dict) -> dict[str, dict]:
    return {e["name"]: e for e in c.get("env", [])}


def test_prod_mongodb_is_a_replica_set_with_a_user_per_service() -> None:
    import importlib

    sts = find(PROD, "StatefulSet", "mongodb")
    spec = sts["spec"]["template"]["spec"]
    containers = {c["name"]: c for c in spec["containers"]}
    args = containers["mongodb"]["args"]
    assert args[args.index("--replSet") + 1] == "rs0" and "--keyFile" in args
    assert "--noauth" not in args
    boot = _env(containers["bootstrap"])
    assert int(boot["MEMBERS"]["value"]) == sts["spec"]["replicas"] == 3
    assert boot["REPLICA_SET"]["value"] == "rs0"
    assert boot["SERVICE"]["value"] == sts["spec"]["serviceName"] == "mongodb"
    users = dict(e.split(":") for e in boot["DENGAR_USERS"]["value"].split())
    # One user per service with a store, on the database its settings name, and only there.
    expected = {}
    for svc in SERVICES:
        config = getattr(importlib.import_module(f"dengar_{svc}.settings"), f"{svc.capitalize()}Config")
        if "db" in config.model_fields:
            expected[svc] = config.model_fields["db"].default
    assert users == expected
    for svc in users:
        ref = boot[f"PASSWORD_{svc.upper()}"]["valueFrom"]["secretKeyRef"]
        assert ref == {"name": f"dengar-{svc}-mongo", "key": "password"}
        [c] = find(PROD, "Deployment", svc)["spec"]["template"]["spec"]["containers"]
        assert _env(c)["DENGAR_MONGO_URI"]["valueFrom"]["secretKeyRef"] == {"name": f"dengar-{svc}-mongo",
                                                                              "key": "uri"}
    script = find(PROD, "ConfigMap", "mongodb-bootstrap")["data"]["bootstrap.js"]
    assert 'roles = [{role: "readWrite", db: database}]' in script
    for var in re.findall(r"env\.([A-Z_]+)", script):
        assert var in boot, var
    # The key file reaches mongod through the init container, mode 0400.
    [init] = spec["initContainers"]
    assert "chmod 0400" in " ".join(init["command"])
    assert args[args.index("--keyFile") + 1].startswith(
        next(m["mountPath"] for m in containers["mongodb"]["volumeMounts"] if m["name"] == "keyfile"))


def _auth_users(conf: str) -> dict[str, dict[str, list[str]]]:
    """{user: {"password": [...], "publish": [...], "subscribe": [...]}} from auth.conf, which
    writes one user per block and one subject per line (tests/integration/deploy runs the real one)."""
    users: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    section = ""
    for raw in conf.splitlines():
        line = raw.strip()
        if m := re.fullmatch(r"user: (\S+)", line):
            current = users.setdefault(m.group(1), {"publish": [], "subscribe": [], "password": []})
        elif m := re.fullmatch(r"password: (\S+)", line):
            current["password"].append(m.group(1))
        elif line.startswith(("publish:", "subscribe:")):
            section = line.split(":")[0]
            current[section] += re.findall(r'"([^"]+)"', line)
        elif line.startswith('"'):
            current[section].append(line.strip('"'))
    return users


def test_prod_nats_is_a_jetstream_cluster_with_a_user_per_service() -> None:
    from dengar_common.bus import Subjects

    sts = find(PROD, "StatefulSet", "nats")
    replicas = sts["spec"]["replicas"]
    assert replicas == 3
    config = find(PROD, "ConfigMap", "dengar-config")["data"]
    assert int(config["DENGAR_NATS_STREAM_REPLICAS"]) == replicas
    conf = find(PROD, "ConfigMap", "nats-config")["data"]
    svc = sts["spec"]["serviceName"]
    routes = re.findall(r"nats-route://(\S+):(\d+)", conf["nats.conf"])
    assert routes == [(f"nats-{i}.{svc}.dengar.svc.cluster.local", "6222") for i in range(replicas)]
    assert "include ./auth.conf" in conf["nats.conf"] and "jetstream" in conf["nats.conf"]
    [c] = sts["spec"]["template"]["spec"]["containers"]
    assert 6222 in {p["containerPort"] for p in c["ports"]}
    assert 6222 in {p["port"] for p in find(PROD, "Service", "nats")["spec"]["ports"]}
    server_env = _env(c)
    users = _auth_users(conf["auth.conf"])
    root = Subjects(config["DENGAR_SUBJECT_ROOT"])
    nats_users = {src for src, dst, _ in _expected_edges() if dst == "nats" and src != "nats"}
    assert set(users) == nats_users
    for name in nats_users:
        [password] = users[name]["password"]
        var = password.removeprefix("$")
        ref = {"name": f"dengar-{name}-nats", "key": "password"}
        assert server_env[var]["valueFrom"]["secretKeyRef"] == ref
        [sc] = find(PROD, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        env = _env(sc)
        assert env["NATS_PASSWORD"]["valueFrom"]["secretKeyRef"] == ref
        assert env["DENGAR_NATS_URL"]["value"] == f"nats://{name}:$(NATS_PASSWORD)@nats.dengar.svc.cluster.local:4222"
        assert users[name]["subscribe"] == ["_INBOX.>"]
    # Who may publish which events (Subjects names them; no one publishes another's).
    events = {p for u in users.values() for p in u["publish"] if not p.startswith("$")}
    owners = {p: [u for u, v in users.items() if p in v["publish"]] for p in events}
    assert all(len(v) == 1 for v in owners.values()), owners
    assert owners[root.collected(">")] == ["collector"]
    assert owners[root.queries_changed(">")] == ["collector"]
    assert owners[root.enriched(">")] == ["nlp"]
    assert owners[root.mentions_stored(">")] == ["insights"]
    assert owners[root.alerts(">")] == ["insights"]
    assert {root.dlq("nlp", ">")} == {p for p in users["nlp"]["publish"] if ".dlq." in p}
    for user in users.values():
        assert not any(p.startswith(("$JS.API.STREAM.DELETE", "$JS.API.STREAM.PURGE", "$JS.API.>"))
                       for p in user["publish"])
    # The gateway has no NATS user and uses no NATS URL with credentials.
    [gw] = find(PROD, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"]
    assert "DENGAR_NATS_URL" not in _env(gw)


# --- the optional KEDA component -------------------------------------------------------------------

def test_the_keda_component_scales_on_the_real_consumers(tmp_path: Path) -> None:
    from dengar_common.bus import Subjects
    from dengar_insights.settings import InsightsConfig

    docs = render(_keda_overlay(tmp_path))
    assert not [d for d in docs if d["kind"] == "HorizontalPodAutoscaler"], "KEDA makes its own"
    scaled = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ScaledObject"}
    root = Subjects(find(docs, "ConfigMap", "dengar-config")["data"]["DENGAR_SUBJECT_ROOT"])
    consumers = {"nlp": (root.stream("collected"), "nlp"),
                 "insights": (root.stream("enriched"), InsightsConfig.model_fields["durable"].default)}
    assert set(scaled) == set(consumers)
    nats_svc = find(docs, "Service", "nats")
    for name, obj in scaled.items():
        target = obj["spec"]["scaleTargetRef"]
        assert target["kind"] == "Deployment"
        assert "replicas" not in find(docs, "Deployment", target["name"])["spec"]
        [trigger] = obj["spec"]["triggers"]
        meta = trigger["metadata"]
        assert trigger["type"] == "nats-jetstream"
        assert (meta["stream"], meta["consumer"]) == consumers[name]
        host, _, port = meta["natsServerMonitoringEndpoint"].rpartition(":")
        assert host == f"{nats_svc['metadata']['name']}.dengar.svc.cluster.local"
        assert int(port) in {p["port"] for p in nats_svc["spec"]["ports"]}
        assert nats_svc["spec"].get("clusterIP") == "None", "KEDA finds each node by name"
    # Everything but the CRD validates offline.
    for doc in docs:
        if doc["kind"] != "ScaledObject":
            kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    # KEDA may read NATS' monitoring port, and only that.
    [policy] = [d for d in docs if d["kind"] == "NetworkPolicy" and "keda" in yaml.safe_dump(d)]
    [rule] = policy["spec"]["ingress"]
    assert [p["port"] for p in rule["ports"]] == [8222]
