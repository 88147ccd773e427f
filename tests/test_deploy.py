"""The deployment files hold together: the Kubernetes manifest, the hall's compose file and HAProxy.

No container starts here: these tests read deploy/k8s/playground.yaml, deploy/hall/compose.yaml
and deploy/hall/haproxy.cfg, and check what a hall of replicas needs (docs/deploying.md, "A hall
of replicas"): every request of a visitor reaches one replica (a cookie, not the client's
address), websockets outlive a lecture's silences, and a replica that fails its health checks
on /_stcore/health is taken out.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from playground.config import Limits

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "deploy" / "k8s" / "playground.yaml"
COMPOSE = ROOT / "deploy" / "hall" / "compose.yaml"
HAPROXY = ROOT / "deploy" / "hall" / "haproxy.cfg"
HEALTH = "/_stcore/health"


# --- Reading the files ----------------------------------------------------------------------


def _without_comment(line: str) -> str:
    """The line less a comment: a # at its start or after a space, outside quotes."""
    quote = None
    for i, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def read_haproxy(path: Path) -> dict[str, list[str]]:
    """HAProxy's sections ("global", "backend replicas", ...) and their directives, comments left out."""
    sections: dict[str, list[str]] = {}
    current = None
    for raw in path.read_text().splitlines():
        line = _without_comment(raw)
        if not line.strip():
            continue
        if not line[0].isspace():
            current = " ".join(line.split())
            sections[current] = []
        else:
            sections[current].append(" ".join(line.split()))
    return sections


def seconds(duration: str) -> float:
    """An HAProxy duration ("1h", "30s", "500" in ms) in seconds."""
    number, unit = re.fullmatch(r"(\d+)(us|ms|s|m|h|d)?", duration).groups()
    return int(number) * {"us": 1e-6, "ms": 1e-3, None: 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


@functools.cache
def manifest() -> dict[str, dict]:
    return {document["kind"]: document for document in yaml.safe_load_all(MANIFEST.read_text())}


def pod() -> dict:
    return manifest()["Deployment"]["spec"]["template"]


def container() -> dict:
    (only,) = pod()["spec"]["containers"]
    return only


def container_port() -> dict:
    (port,) = container()["ports"]
    return port


def names_container_port(port) -> bool:
    """Whether a probe's or a Service's port is the container's, by number or by name."""
    return port in (container_port()["containerPort"], container_port().get("name"))


def env() -> dict[str, str]:
    return {item["name"]: item["value"] for item in container()["env"]}


def mebibytes(quantity: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(Ki|Mi|Gi|K|M|G)?", str(quantity)).groups()
    factor = {None: 2**-20, "Ki": 2**-10, "Mi": 1, "Gi": 2**10, "K": 1e3 / 2**20, "M": 1e6 / 2**20, "G": 1e9 / 2**20}
    return float(number) * factor[unit]


def annotations() -> dict[str, str]:
    return manifest()["Ingress"]["metadata"]["annotations"]


def dockerfile_env() -> dict[str, str]:
    """The PLAYGROUND_* variables that the Dockerfile sets, and their values."""
    code = "\n".join(_without_comment(line) for line in (ROOT / "Dockerfile").read_text().splitlines())
    return dict(re.findall(r"\b(PLAYGROUND_[A-Z_]+)=(\S+)", code))


@functools.cache
def haproxy() -> dict[str, list[str]]:
    return read_haproxy(HAPROXY)


def directives(name: str) -> list[str]:
    """The directives of one section of haproxy.cfg, and those of `defaults` that it inherits."""
    assert name in haproxy(), f"haproxy.cfg has no section {name!r}: it has {sorted(haproxy())}"
    return haproxy().get("defaults", []) + haproxy()[name]


def starting(name: str, prefix: str) -> list[str]:
    return [line for line in directives(name) if line == prefix or line.startswith(prefix + " ")]


def servers() -> list[list[str]]:
    """The backend's server and server-template lines, each as words."""
    return [line.split() for line in haproxy()["backend replicas"] if line.split()[0] in ("server", "server-template")]


@functools.cache
def compose() -> dict:
    document = yaml.safe_load(COMPOSE.read_text())
    return document


def default_of(value: str) -> str:
    """What "${NAME:-default}" comes to where NAME is not set (or the value itself)."""
    match = re.fullmatch(r"\$\{\w+:?-(.*)\}", value)
    return match.group(1) if match else value


# --- The Kubernetes manifest ----------------------------------------------------------------


def test_the_manifest_holds_a_deployment_a_service_and_an_ingress():
    assert {"Deployment", "Service", "Ingress"} <= set(manifest()), f"{MANIFEST.name} holds {sorted(manifest())}"


def test_the_container_listens_on_streamlits_port():
    exposed = re.search(r"^EXPOSE (\d+)", (ROOT / "Dockerfile").read_text(), re.M).group(1)
    assert container_port()["containerPort"] == int(exposed), f"the Dockerfile exposes {exposed}"


def test_the_readiness_probe_asks_streamlits_health_on_the_container_port():
    probe = container()["readinessProbe"]["httpGet"]
    assert probe["path"] == HEALTH, f"the readiness probe asks {probe['path']}"
    assert names_container_port(probe["port"]), f"the readiness probe asks port {probe['port']}"


def test_the_liveness_probe_asks_streamlits_health_on_the_container_port():
    probe = container()["livenessProbe"]["httpGet"]
    assert probe["path"] == HEALTH, f"the liveness probe asks {probe['path']}"
    assert names_container_port(probe["port"]), f"the liveness probe asks port {probe['port']}"


def test_the_deployment_sets_the_limits_the_dockerfile_sets():
    missing = {name: value for name, value in dockerfile_env().items() if env().get(name) != value}
    assert dockerfile_env(), "the Dockerfile sets no PLAYGROUND_* variable"
    assert not missing, f"the Deployment does not set these as the Dockerfile does: {missing}"


def test_the_deployment_sets_only_limits_the_app_reads():
    known = {"PLAYGROUND_" + field.upper() for field, _, _ in Limits.FIELDS}
    unknown = {name for name in env() if name.startswith("PLAYGROUND_")} - known
    assert not unknown, f"the app reads no {sorted(unknown)} (it reads {sorted(known)})"


def test_the_training_processes_leave_the_server_one_of_the_pods_cores():
    # The app counts the node's cores, not the pod's CPU limit: the manifest must set them.
    cpus = float(container()["resources"]["limits"]["cpu"])
    assert int(env()["PLAYGROUND_TRAINING_PROCESSES"]) == max(1, int(cpus) - 1), f"CPU limit {cpus}"


def test_the_pods_memory_holds_the_runs_bound_and_the_server():
    limit = mebibytes(container()["resources"]["limits"]["memory"])
    runs = float(env()["PLAYGROUND_MEMORY_MB"])
    # The server and a training process with torch loaded take about 390 MB besides the runs.
    assert limit >= runs + 512, f"a memory limit of {limit:g} MiB leaves too little beside the runs' {runs:g} MB"


def test_the_service_selects_the_deployments_pods():
    selector = manifest()["Service"]["spec"]["selector"]
    labels = pod()["metadata"]["labels"]
    assert selector.items() <= labels.items(), f"the Service selects {selector}; the pods carry {labels}"


def test_the_service_sends_to_the_container_port():
    (port,) = manifest()["Service"]["spec"]["ports"]
    assert names_container_port(port["targetPort"]), f"the Service targets {port['targetPort']}"


def test_the_ingress_sends_to_the_service_port():
    service = manifest()["Service"]
    (rule,) = manifest()["Ingress"]["spec"]["rules"]
    backends = [path["backend"]["service"] for path in rule["http"]["paths"]]
    ports = {key for port in service["spec"]["ports"] for key in (port["port"], port.get("name"))}
    for backend in backends:
        assert backend["name"] == service["metadata"]["name"], f"the Ingress sends to Service {backend['name']}"
        assert backend["port"].get("number", backend["port"].get("name")) in ports, f"to port {backend['port']}"


def test_the_ingress_keeps_a_visitor_on_one_pod_as_long_as_a_reload_finds_its_run():
    """A reload takes its run back by a cookie the page keeps ``visits.COOKIE_S`` seconds, from the
    replica that trains it: the proxy's affinity must outlast that cookie, under another name, and
    hold while pods are added (else a reload lands on a pod that never had the run)."""
    from playground.ui.visits import COOKIE, COOKIE_S

    prefix = "nginx.ingress.kubernetes.io/"
    assert annotations().get(prefix + "affinity") == "cookie"
    assert annotations().get(prefix + "affinity-mode") == "persistent"
    name = annotations().get(prefix + "session-cookie-name")
    assert name and name != COOKIE, f"the affinity cookie {name!r} must differ from the page's {COOKIE!r}"
    max_age = int(annotations().get(prefix + "session-cookie-max-age", 0))
    assert max_age >= COOKIE_S, f"affinity lasts {max_age} s, the page's run cookie {COOKIE_S} s"


def test_the_ingress_keeps_websockets_open_for_an_hour():
    for name in ("proxy-read-timeout", "proxy-send-timeout"):
        value = int(annotations().get(f"nginx.ingress.kubernetes.io/{name}", 60))  # ingress-nginx's default
        assert value >= 3600, f"{name} is {value} s: a silent websocket is closed sooner than an hour"


# --- HAProxy ----------------------------------------------------------------------------------


def test_haproxy_inserts_a_cookie_for_affinity():
    cookies = starting("backend replicas", "cookie")
    assert cookies and cookies[-1].split()[2] == "insert", f"the backend's cookie line: {cookies}"


def test_haproxy_does_not_balance_on_the_client_address():
    (balance,) = starting("backend replicas", "balance")
    assert balance.split()[1] in ("roundrobin", "leastconn"), f"{balance}: the students of a hall share an address"


def test_haproxy_checks_streamlits_health():
    checks = starting("backend replicas", "option httpchk")
    assert checks == [f"option httpchk GET {HEALTH}"], f"the health check: {checks}"


def test_haproxy_expects_ok_from_the_health_check():
    expects = starting("backend replicas", "http-check expect")
    assert expects == ["http-check expect string ok"], f"what the health check expects: {expects}"


def test_haproxy_checks_every_replica_and_takes_out_a_failing_one():
    defaults = " ".join(starting("backend replicas", "default-server")).split()
    for words in servers():
        both = defaults + words
        assert "check" in both, f"{' '.join(words)}: not checked"
        assert "fall" in both, f"{' '.join(words)}: no fall count, so the default of 3 checks"


def test_haproxy_sends_to_the_compose_service_on_streamlits_port():
    assert servers(), "the backend has no server"
    for words in servers():
        address = words[3] if words[0] == "server-template" else words[2]
        assert address == "app:8501", f"{' '.join(words)}: the replicas are compose's service app, on port 8501"


def test_haproxy_keeps_websockets_open_for_an_hour():
    (tunnel,) = starting("backend replicas", "timeout tunnel")
    assert seconds(tunnel.split()[2]) >= 3600, f"{tunnel}: a silent websocket is closed sooner than an hour"


def test_haproxy_sends_the_visitors_of_a_dead_replica_elsewhere():
    redispatch = starting("backend replicas", "option redispatch")
    assert redispatch, "no `option redispatch`: a visitor whose replica died keeps asking it"


# --- The compose file -------------------------------------------------------------------------


def test_compose_runs_the_image_that_container_check_builds():
    built = re.search(r"^IMAGE=\$\{IMAGE:-(\S+)\}", (ROOT / "scripts" / "container-check.sh").read_text(), re.M)
    image = compose()["services"]["app"]["image"]
    assert default_of(image) == built.group(1), f"compose runs {image}; scripts/container-check.sh builds {built[1]}"


def test_compose_sets_the_number_of_replicas_from_the_environment():
    replicas = compose()["services"]["app"]["deploy"]["replicas"]
    assert str(replicas).startswith("${REPLICAS"), f"replicas: {replicas}"


def test_compose_gives_haproxy_its_configuration():
    volumes = compose()["services"]["proxy"]["volumes"]
    assert any(volume.split(":")[0] == f"./{HAPROXY.name}" for volume in volumes), f"the proxy mounts {volumes}"


def test_compose_builds_haproxy_from_a_file_that_exists():
    build = compose()["services"]["proxy"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).is_file(), f"no {build['dockerfile']}"


def test_compose_publishes_the_port_haproxy_listens_on():
    (bind,) = [line for line in haproxy()["frontend playground"] if line.startswith("bind ")]
    listening = bind.split()[1].rsplit(":", 1)[1]
    targets = [port.rsplit(":", 1)[1] for port in compose()["services"]["proxy"]["ports"]]
    assert listening in targets, f"HAProxy listens on {listening}; compose publishes {targets}"
