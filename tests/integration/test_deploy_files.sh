#!/usr/bin/env bash
# The deployment files as an operator meets them. No Docker engine or Kubernetes runs where the
# tests run, so this is what keeps docker-compose.yml, deploy/Dockerfile, deploy/kubernetes/ and
# docs/OPERATIONS.md honest: they parse, and they refer only to programs the Makefile builds,
# variables the code's configuration tables declare, ports and paths the daemons use, and files
# that exist. Needs only the repository and python3 with PyYAML (Debian: python3-yaml).
#
#   bash tests/integration/test_deploy_files.sh                the test: one TAP line per check
#   bash tests/integration/test_deploy_files.sh --print-table  docs/OPERATIONS.md's table of
#                                                               variables, made from the code
#
# The programs are the folders services/*/main.c (what the Makefile builds). A daemon whose
# folder exists but whose main.c is not written yet is listed in PENDING below: the files may
# name it meanwhile, and the test fails once it lands, to have it taken off the list.
set -uo pipefail
cd "${TRIVSEL_REPO:-$(dirname "$0")/../..}" || exit 1

py=
for candidate in python3 /usr/bin/python3; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import yaml' 2>/dev/null; then
        py=$candidate
        break
    fi
done
if [ -z "$py" ]; then
    echo "not ok - python3 with PyYAML is available to read the YAML files"
    echo "#   install it: apt-get install python3-yaml"
    exit 0
fi

exec "$py" - "$@" <<'PYTHON'
import glob
import os
import re
import subprocess
import sys

import yaml

PENDING = set()  # daemons not written yet: see the header

COMPOSE = "docker-compose.yml"
DOCKERFILE = "deploy/Dockerfile"
K8S = "deploy/kubernetes"
OPERATIONS = "docs/OPERATIONS.md"
SECRETS_DIR = "deploy/secrets"
SECRETS_README = "deploy/secrets/README.md"
# The Debian 12 package holding the shared library of each pkg-config name in the Makefile.
RUNTIME_PACKAGE = {
    "libzmq": "libzmq5",
    "libprotobuf-c": "libprotobuf-c1",
    "libuv": "libuv1",
    "libpq": "libpq5",
    "libmicrohttpd": "libmicrohttpd12",
    "jansson": "libjansson4",
}
POSTGRES_PORT = 5432



def report(name, problems):
    if problems:
        print(f"not ok - {name}")
        for p in problems:
            print(f"#   {p}")
    else:
        print(f"ok - {name}")


def read(path):
    """A file's text; "" when it is missing (the check that it exists reports that)."""
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


# ---------------------------------------------------------------- what the code declares

C_STRING = r'"(?:[^"\\]|\\.)*"'


def c_text(literals):
    """The value of adjacent C string literals."""
    unescape = {"n": "\n", "t": "\t"}
    return "".join(re.sub(r"\\(.)", lambda m: unescape.get(m.group(1), m.group(1)), s[1:-1])
                   for s in re.findall(C_STRING, literals))


def program_of(folder):
    return "trivselctl" if folder == "ctl" else f"trivsel-{folder}"


folders = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob("services/*/"))
built = sorted(os.path.basename(os.path.dirname(p)) for p in glob.glob("services/*/main.c"))
built_programs = {program_of(f) for f in built}
pending_programs = {program_of(f) for f in PENDING}
daemons = {program_of(f) for f in built if f != "ctl"} | pending_programs


def owner_of(path):
    """Who reads a table: a program, or "daemons" for the frame every daemon shares."""
    if path == "common/daemon.c":
        return "daemons"
    m = re.match(r"services/([^/]+)/", path)
    return program_of(m.group(1)) if m else "all"


config_vars = []  # dicts: name, type, default (None = required), help, file, owner
table_problems = []
entry_re = re.compile(
    r'\{\s*"(TRIVSEL_[A-Z0-9_]+)"\s*,\s*(TR_CONFIG_[A-Z]+)\s*,\s*(NULL|' + C_STRING + r')\s*,\s*(NULL|'
    + C_STRING + r')\s*,\s*((?:' + C_STRING + r'\s*)+)\}', re.S)
sources = sorted(glob.glob("common/**/*.c", recursive=True) + glob.glob("services/**/*.c", recursive=True))
for path in sources:
    text = read(path)
    for table in re.finditer(r"tr_config_var_t\s+\w+\s*\[\s*\]\s*=\s*\{(.*?)\n\};", text, re.S):
        body = table.group(1)
        entries = entry_re.findall(body)
        if len(entries) != body.count('{"TRIVSEL_'):
            table_problems.append(f"{path}: a config table entry this test cannot read")
        for name, ctype, default, _allowed, help_ in entries:
            config_vars.append({"name": name, "type": ctype, "default": None if default == "NULL" else c_text(default),
                                "help": c_text(help_), "file": path, "owner": owner_of(path)})
declared = {v["name"] for v in config_vars}


def vars_of(program):
    """The variables a program reads; None when unknown (a daemon not written yet)."""
    if program in pending_programs:
        return None
    owners = {program, "all"} | ({"daemons"} if program in daemons else set())
    return {v["name"]: v for v in config_vars if v["owner"] in owners}


# Metric names: the string literals trivsel_... of the code (a service may pass them through a
# helper of its own, so not only the direct arguments of tr_metrics_counter and _gauge).
metrics = set()
for path in sources:
    metrics |= set(re.findall(r'"(trivsel_[a-z0-9_]+)"', read(path)))
http_paths = set(re.findall(r'strcmp\(url, "(/[a-z]+)"\)', read("common/http.c")))
ctl_commands = set(re.findall(r'^\s*\{"([a-z-]+)", "', read("services/ctl/main.c"), re.M))
version = re.search(r'#define TR_VERSION "([^"]+)"', read("common/version.h")).group(1)
pkgs = re.search(r"^PKGS\s*:?=\s*(.*)$", read("Makefile"), re.M).group(1).split()

if "--print-table" in sys.argv:
    order = {"daemons": 0, "trivsel-broker": 1, "trivselctl": 9}
    rows = {}
    for v in sorted(config_vars, key=lambda v: order.get(v["owner"], 5)):
        row = rows.setdefault(v["name"], {"defaults": [], "owners": [], "help": v["help"]})
        d = "(required)" if v["default"] is None else f"`{v['default']}`" if v["default"] else ""
        if d not in row["defaults"]:
            row["defaults"].append(d)
        who = "every daemon" if v["owner"] == "daemons" else f"`{v['owner']}`"
        if who not in row["owners"]:
            row["owners"].append(who)
    print("| variable | default | read by | meaning |")
    print("| --- | --- | --- | --- |")
    for name, row in rows.items():
        print(f"| `{name}` | {'; '.join(x for x in row['defaults'] if x)} | {', '.join(row['owners'])} | {row['help']} |")
    sys.exit(0)

report("the deployment files and guides exist",
       [f"{p} is missing" for p in (COMPOSE, DOCKERFILE, "deploy/Dockerfile.dockerignore", OPERATIONS, SECRETS_README,
                                    f"{SECRETS_DIR}/.gitignore", f"{K8S}/README.md", f"{K8S}/kustomization.yaml")
        if not os.path.exists(p)])
report("the configuration tables in common/ and services/ are read", table_problems or
       ([] if "TRIVSEL_DATABASE_URL" in declared else ["no table declares TRIVSEL_DATABASE_URL"]))


def duration_s(text):
    """"8s", "1m30s", "250ms", "2d" or an integer number of seconds -> seconds; NaN when it is
    none of these, so that every comparison with it fails."""
    if isinstance(text, (int, float)):
        return float(text)
    parts = re.findall(r"(\d+)(ms|s|m|h|d)", str(text))
    if not parts or "".join(n + u for n, u in parts) != str(text):
        return float("nan")
    return sum(int(n) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}[u] for n, u in parts)


def port_of(address):
    m = re.search(r":(\d+)$", address or "")
    return int(m.group(1)) if m else None


def default_of(name):
    found = [v["default"] for v in config_vars if v["name"] == name and v["default"]]
    return found[0] if found else None


def env_problems(where, program, env, file_targets):
    """Variables a container sets: declared for its program, every required one set, and each
    *_FILE names a file mounted in the container."""
    problems = []
    known = vars_of(program)
    for name, value in env.items():
        if not name.startswith("TRIVSEL_"):
            continue
        if name not in declared:
            problems.append(f"{where}: {name} is declared by no configuration table")
        elif known is not None and name not in known:
            problems.append(f"{where}: {program} does not read {name}")
        if name.endswith("_FILE") and value not in file_targets:
            problems.append(f"{where}: {name}={value} is no file mounted in the container "
                            f"(mounted: {', '.join(sorted(file_targets)) or 'none'})")
    if known is not None and program != "trivselctl":
        for name, v in known.items():
            if v["default"] is None and name not in env:
                problems.append(f"{where}: {name} is required by {program} and not set")
    return problems


def program_problems(where, program):
    if program in built_programs:
        return []
    if program in pending_programs:
        return []  # allowed while PENDING; checked below
    return [f"{where}: {program} is not a program the Makefile builds (services/*/main.c)"]


def code_spans(markdown):
    """Text inside `backticks` and fenced code blocks."""
    blocks = re.findall(r"^```[^\n]*\n(.*?)^```", markdown, re.M | re.S)
    rest = re.sub(r"^```[^\n]*\n.*?^```", "", markdown, flags=re.M | re.S)
    return blocks + re.findall(r"`([^`\n]+)`", rest)


def ctl_problems(where, text):
    """Every `trivselctl COMMAND` (or compose's `ctl COMMAND`) names a trivselctl command."""
    problems = []
    for span in code_spans(text) if where.endswith(".md") else [text]:
        for word in re.findall(r"(?:\btrivselctl|(?<![\w-])ctl)\s+([a-z][a-z-]*)\b", span):
            if word not in ctl_commands:
                problems.append(f"{where}: \"trivselctl {word}\" is no trivselctl command "
                                f"({', '.join(sorted(ctl_commands))})")
    return problems


def named_variables(where, text):
    """Every TRIVSEL_ name in a file's text (comments too) is declared; NAME_... is a prefix, and
    a ${NAME} of docker-compose.yml is the operator's, for compose itself."""
    return [f"{where}: {name} is declared by no configuration table"
            for name in sorted(set(re.findall(r"TRIVSEL_[A-Z0-9_]*[A-Z0-9]\b", text)))
            if name not in declared and name not in compose_interpolations]


# ---------------------------------------------------------------- parse

def load_all(path):
    try:
        return [d for d in yaml.safe_load_all(read(path)) if d is not None], None
    except (OSError, yaml.YAMLError) as e:
        return [], str(e).replace("\n", " ")


compose_docs, err = load_all(COMPOSE)
compose_interpolations = set(re.findall(r"\$\{(\w+)", read(COMPOSE)))
report(f"{COMPOSE} parses as YAML", [err] if err else [] if compose_docs else ["it is empty"])
compose = compose_docs[0] if compose_docs else {}

k8s_files = sorted(glob.glob(f"{K8S}/*.yaml") + glob.glob(f"{K8S}/*.yml"))
k8s_objects = {}  # file -> objects
for path in k8s_files:
    objects, err = load_all(path)
    bad = [f"document {i + 1} has no kind" for i, o in enumerate(objects)
           if not isinstance(o, dict) or "kind" not in o or "apiVersion" not in o]
    report(f"{path} parses as YAML, each document with apiVersion and kind", [err] if err else bad)
    k8s_objects[path] = objects
report(f"{K8S} holds manifests", [] if k8s_files else ["no *.yaml there"])

# ---------------------------------------------------------------- programs

problems = []
landed = sorted(f for f in PENDING if os.path.exists(f"services/{f}/main.c"))
problems += [f"services/{f}/main.c exists now: take \"{f}\" off PENDING in tests/integration/test_deploy_files.sh"
             for f in landed]
problems += [f"PENDING names \"{f}\", which has no folder services/{f}" for f in sorted(PENDING) if f not in folders]
report("PENDING lists only daemons whose folder exists and whose main.c is not written yet", problems)

# ---------------------------------------------------------------- the Dockerfile

dockerfile = read(DOCKERFILE) if os.path.exists(DOCKERFILE) else ""
stages = re.split(r"^FROM ", dockerfile, flags=re.M)[1:]
runtime = stages[-1] if stages else ""
problems = [] if len(stages) >= 2 else [f"{DOCKERFILE} is not a multi-stage build"]
if not stages or not stages[0].startswith("debian:12 ") or not runtime.startswith("debian:12-slim"):
    problems.append("the build stage must be FROM debian:12 and the runtime stage FROM debian:12-slim")
for pkg in pkgs:
    package = RUNTIME_PACKAGE.get(pkg)
    if package is None:
        problems.append(f"the Makefile links {pkg}: add its Debian runtime package to {DOCKERFILE} and to "
                        "RUNTIME_PACKAGE in this test")
    elif not re.search(rf"\b{re.escape(package)}\b", runtime):
        problems.append(f"the runtime stage does not install {package} (the Makefile links {pkg})")
report(f"{DOCKERFILE}: Debian 12 stages, the runtime one with every library the Makefile links", problems)

problems = []
if not re.search(r"^RUN make\b.*\bbuild\s*$", stages[0] if stages else "", re.M):
    problems.append("the build stage does not run `make ... build`")
if not re.search(r"^COPY --from=build /src/build/bin/ /usr/local/bin/\s*$", runtime, re.M):
    problems.append("the runtime stage does not copy every program: COPY --from=build /src/build/bin/ /usr/local/bin/")
user = re.findall(r"^USER\s+(\S+)", runtime, re.M)
if not user or not re.fullmatch(r"[1-9]\d*(:\d+)?", user[-1]) or user[-1].split(":")[0] == "0":
    problems.append("the runtime stage must end as a numeric non-root USER")
entry = re.findall(r"^ENTRYPOINT\s+(.*)$", runtime, re.M)
try:
    entry_argv = yaml.safe_load(entry[-1]) if entry else None
except yaml.YAMLError:
    entry_argv = None
if not isinstance(entry_argv, list) or not entry_argv:
    problems.append("ENTRYPOINT is not in exec form ([\"program\", ...])")
else:
    problems += program_problems(DOCKERFILE, entry_argv[0])
ignore = [line.strip() for line in read("deploy/Dockerfile.dockerignore").splitlines()
          if line.strip() and not line.startswith("#")]
for src in re.findall(r"^COPY\s+(?!--)(\S+)\s", dockerfile, re.M):
    if not os.path.exists(src):
        problems.append(f"COPY {src}: no such file in the repository")
    if "!" + src.rstrip("/") not in [i.rstrip("/") for i in ignore]:
        problems.append(f"COPY {src}: not let through by deploy/Dockerfile.dockerignore")
if "*" not in ignore:
    problems.append("deploy/Dockerfile.dockerignore does not start from \"*\" (keep secrets out of the build)")
report(f"{DOCKERFILE}: builds with make, copies every program, runs as non-root, exec-form ENTRYPOINT", problems)

# ---------------------------------------------------------------- docker-compose.yml

services = compose.get("services") or {}
secrets = compose.get("secrets") or {}


def compose_env(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: "" if v is None else str(v) for k, v in env.items()}


def is_trivsel(svc):
    build = svc.get("build") or {}
    return isinstance(build, dict) and build.get("dockerfile") == "deploy/Dockerfile"


trivsel_services = {n: s for n, s in services.items() if is_trivsel(s)}
program_of_service = {}
problems = []
for name, svc in trivsel_services.items():
    argv = svc.get("entrypoint")
    if not isinstance(argv, list) or not argv:
        problems.append(f"service {name}: no entrypoint in exec form")
        continue
    program_of_service[name] = argv[0]
    problems += program_problems(f"service {name}", argv[0])
    if argv[0] == "trivselctl" and len(argv) > 1:
        problems += ctl_problems(f"service {name}", " ".join(["trivselctl"] + argv[1:]))
for program in sorted(daemons):
    if program not in program_of_service.values():
        problems.append(f"no service runs {program}")
report(f"{COMPOSE}: every container runs a program the Makefile builds, and every daemon has one", problems)

problems = []
for name, svc in trivsel_services.items():
    build = svc["build"]
    context = build.get("context", ".")
    if not os.path.exists(os.path.join(context, build["dockerfile"])):
        problems.append(f"service {name}: no Dockerfile {build['dockerfile']} in context {context}")
    image = str(svc.get("image", ""))
    if not image.rstrip("}").endswith(f"trivsel:{version}"):
        problems.append(f"service {name}: image {image} is not trivsel:{version} (common/version.h)")
for name, svc in services.items():
    for volume in svc.get("volumes") or []:
        source = str(volume).split(":")[0]
        if source.startswith(".") and not os.path.exists(source):
            problems.append(f"service {name}: volume source {source} does not exist")
for name, s in secrets.items():
    path = str((s or {}).get("file", ""))
    base = os.path.basename(path)
    if os.path.normpath(os.path.dirname(path)) != SECRETS_DIR:
        problems.append(f"secret {name}: {path} is not in {SECRETS_DIR}/")
    elif f"`{base}`" not in read(SECRETS_README):
        problems.append(f"secret {name}: {SECRETS_README} does not say how to make `{base}`")
    ignored = subprocess.run(["git", "check-ignore", "-q", path], capture_output=True).returncode
    if ignored == 1:
        problems.append(f"secret {name}: git does not ignore {path}")
for name, svc in services.items():
    for ref in svc.get("secrets") or []:
        source = ref if isinstance(ref, str) else ref.get("source")
        if source not in secrets:
            problems.append(f"service {name}: secret {source} is not defined")
report(f"{COMPOSE}: the image, Dockerfile and volumes exist; every secret is a documented, "
       "git-ignored file under deploy/secrets/", problems)


def compose_files(svc):
    """Paths of the files a compose container gets: its secrets, and files under bind mounts
    that deploy/secrets/README.md documents."""
    targets = set()
    for ref in svc.get("secrets") or []:
        target = ref if isinstance(ref, str) else ref.get("target") or ref.get("source")
        targets.add(target if target.startswith("/") else f"/run/secrets/{target}")
    for volume in svc.get("volumes") or []:
        parts = str(volume).split(":")
        if len(parts) >= 2 and os.path.normpath(parts[0]) == SECRETS_DIR:
            targets |= {f"{parts[1]}/{f}" for f in re.findall(r"`([\w.-]+\.(?:key|pub|password))`", read(SECRETS_README))}
    return targets


problems = []
for name, svc in trivsel_services.items():
    if name in program_of_service:
        problems += env_problems(f"service {name}", program_of_service[name], compose_env(svc), compose_files(svc))
problems += named_variables(COMPOSE, read(COMPOSE))
report(f"{COMPOSE}: every variable is one its program reads, the required ones are set, and "
       "every *_FILE is a mounted file", problems)

# Ports and addresses.
problems = []
broker_service = next((n for n, p in program_of_service.items() if p == "trivsel-broker"), None)
postgres_service = next((n for n, s in services.items() if str(s.get("image", "")).startswith("postgres:")), None)
broker_env = compose_env(services.get(broker_service, {}))
broker_port = port_of(broker_env.get("TRIVSEL_BROKER_ENDPOINT") or default_of("TRIVSEL_BROKER_ENDPOINT"))
for name, svc in trivsel_services.items():
    program = program_of_service.get(name)
    env = compose_env(svc)
    if program == "trivselctl" or program is None:
        if "TRIVSEL_BROKER_ADDRESS" in env and env["TRIVSEL_BROKER_ADDRESS"] != f"tcp://{broker_service}:{broker_port}":
            problems.append(f"service {name}: TRIVSEL_BROKER_ADDRESS is not tcp://{broker_service}:{broker_port}")
    else:
        http_port = port_of(env.get("TRIVSEL_HTTP_ADDRESS"))
        if http_port is None:
            problems.append(f"service {name}: TRIVSEL_HTTP_ADDRESS gives no port")
        test = " ".join((svc.get("healthcheck") or {}).get("test") or [])
        m = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", test)
        if not m or int(m.group(1)) != http_port or m.group(2) != "/readyz" or m.group(2) not in http_paths:
            problems.append(f"service {name}: the healthcheck does not ask http://127.0.0.1:{http_port}/readyz")
        allowed = {http_port} | ({broker_port} if program == "trivsel-broker" else set())
        for mapping in svc.get("ports") or []:
            if int(str(mapping).split(":")[-1].split("/")[0]) not in allowed:
                problems.append(f"service {name}: port {mapping} is not one the daemon listens on ({sorted(allowed)})")
        if program != "trivsel-broker" and env.get("TRIVSEL_BROKER_ADDRESS") != f"tcp://{broker_service}:{broker_port}":
            problems.append(f"service {name}: TRIVSEL_BROKER_ADDRESS is not tcp://{broker_service}:{broker_port}")
    url = env.get("TRIVSEL_DATABASE_URL", "")
    if url and not re.match(rf"postgresql://{postgres_service}:{POSTGRES_PORT}/", url):
        problems.append(f"service {name}: TRIVSEL_DATABASE_URL {url} is not the {postgres_service} service")
if broker_service and f"{broker_port}:{broker_port}" not in " ".join(map(str, services[broker_service].get("ports") or [])):
    problems.append(f"the broker's ZeroMQ port {broker_port} is not published")
report(f"{COMPOSE}: healthchecks ask /readyz on the daemon's HTTP port; ports and addresses are "
       "the ones the daemons use", problems)

problems = []
for name, svc in trivsel_services.items():
    program = program_of_service.get(name)
    if program not in daemons:
        continue
    env = compose_env(svc)
    shutdown = duration_s(env.get("TRIVSEL_SHUTDOWN_TIMEOUT") or default_of("TRIVSEL_SHUTDOWN_TIMEOUT"))
    grace = duration_s(svc.get("stop_grace_period", "10s"))
    if not shutdown < grace:
        problems.append(f"service {name}: TRIVSEL_SHUTDOWN_TIMEOUT {shutdown}s is not below stop_grace_period {grace}s")
    wait = duration_s(env.get("TRIVSEL_DATABASE_WAIT") or default_of("TRIVSEL_DATABASE_WAIT"))
    start = duration_s((svc.get("healthcheck") or {}).get("start_period", "0s"))
    if not start >= wait:
        problems.append(f"service {name}: healthcheck start_period {start}s is shorter than TRIVSEL_DATABASE_WAIT {wait}s")
    if svc.get("restart") not in ("always", "unless-stopped", "on-failure"):
        problems.append(f"service {name}: no restart policy")
    needs = svc.get("depends_on") or {}
    if not isinstance(needs, dict) or (needs.get("migrate") or {}).get("condition") != "service_completed_successfully":
        problems.append(f"service {name}: does not wait for migrate (condition: service_completed_successfully)")
report(f"{COMPOSE}: daemons stop within the grace period, wait for the migrations and restart", problems)

problems = []
migrate = services.get("migrate") or {}
argv = migrate.get("entrypoint") or []
if argv[:2] != ["trivselctl", "migrate"] or "--role-passwords" not in argv:
    problems.append("service migrate does not run trivselctl migrate --role-passwords DIR")
else:
    folder = argv[argv.index("--role-passwords") + 1]
    files = compose_files(migrate)
    for f in folders:
        if f != "ctl" and f"{folder}/trivsel_{f}.password" not in files:
            problems.append(f"service migrate: no {folder}/trivsel_{f}.password for the role trivsel_{f}")
if postgres_service:
    hc = " ".join((services[postgres_service].get("healthcheck") or {}).get("test") or [])
    if "pg_isready" not in hc or not any(":/var/lib/postgresql/data" in str(v) for v in services[postgres_service].get("volumes") or []):
        problems.append(f"service {postgres_service}: needs a volume on /var/lib/postgresql/data and a pg_isready healthcheck")
else:
    problems.append("no postgres service")
report(f"{COMPOSE}: PostgreSQL with a volume and a healthcheck; migrate sets every service role's password", problems)

# ---------------------------------------------------------------- deploy/kubernetes

objects = [o for objs in k8s_objects.values() for o in objs if isinstance(o, dict)]
by_kind = {}
for o in objects:
    by_kind.setdefault((o.get("kind"), (o.get("metadata") or {}).get("name")), o)
configmaps = {n: o.get("data") or {} for (k, n), o in by_kind.items() if k == "ConfigMap"}
k8s_secrets = {n: set((o.get("stringData") or {}) | (o.get("data") or {})) for (k, n), o in by_kind.items() if k == "Secret"}

problems = []
kustomization = next((o for o in objects if o.get("kind") == "Kustomization"), None)
resources = (kustomization or {}).get("resources") or []
for r in resources:
    if not os.path.exists(os.path.join(K8S, r)):
        problems.append(f"kustomization.yaml lists {r}, which does not exist")
for path in k8s_files:
    base = os.path.basename(path)
    if base != "kustomization.yaml" and base not in resources and ".example." not in base:
        problems.append(f"{base} is neither in kustomization.yaml nor named *.example.yaml")
for o in objects:
    if (o.get("metadata") or {}).get("namespace"):
        problems.append(f"{o['kind']} {o['metadata'].get('name')} names a namespace")
for image in (kustomization or {}).get("images") or []:
    if str(image.get("newTag")) != version:
        problems.append(f"kustomization.yaml: image tag {image.get('newTag')} is not {version} (common/version.h)")
report(f"{K8S}: kustomization.yaml lists files that exist, and every manifest is in it or an example; "
       "no namespace is named", problems)

workloads = [(o["kind"], o["metadata"]["name"], o) for o in objects if o.get("kind") in ("Deployment", "Job")]


def pod_files(pod, container):
    """Paths of the files a container gets from its Secret volumes (plain or projected), with
    the (Secret, key) pairs they come from."""
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    files, refs = set(), []
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount["name"], {})
        sources = (volume.get("projected") or {}).get("sources") or []
        if "secret" in volume:
            sources = [{"secret": {"name": volume["secret"].get("secretName"), "items": volume["secret"].get("items")}}]
        for source in sources:
            secret = source.get("secret")
            if not secret:
                continue
            items = secret.get("items")
            keys = [(i["key"], i["path"]) for i in items] if items else [(k, k) for k in k8s_secrets.get(secret["name"], ())]
            for key, path in keys:
                files.add(f"{mount['mountPath']}/{path}")
                refs.append((secret["name"], key))
    return files, refs


def pod_env(container):
    env, problems = {}, []
    for source in container.get("envFrom") or []:
        name = (source.get("configMapRef") or {}).get("name")
        if name not in configmaps:
            problems.append(f"envFrom names ConfigMap {name}, which no manifest defines")
        env.update({k: str(v) for k, v in configmaps.get(name, {}).items()})
    for e in container.get("env") or []:
        ref = (e.get("valueFrom") or {}).get("configMapKeyRef")
        if ref:
            if e["name"] != ref["key"] or ref["key"] not in configmaps.get(ref["name"], {}):
                problems.append(f"{e['name']} comes from ConfigMap {ref['name']} key {ref['key']}, which is not there")
            env[e["name"]] = str(configmaps.get(ref["name"], {}).get(ref["key"], ""))
        else:
            env[e["name"]] = str(e.get("value", ""))
    return env, problems


k8s_programs = {}
problems, env_checks, port_checks, spec_checks = [], [], [], []
cnpg = next((o for o in objects if o.get("kind") == "Cluster"), None)
broker_k8s = next((o for o in objects if o.get("kind") == "Service" and
                   (o["spec"].get("selector") or {}).get("app.kubernetes.io/name") == "trivsel-broker"), None)
for kind, name, o in workloads:
    pod = o["spec"]["template"]["spec"]
    replicas = o["spec"].get("replicas", 1)
    sc = pod.get("securityContext") or {}
    if not sc.get("runAsNonRoot") or not sc.get("runAsUser"):
        spec_checks.append(f"{kind} {name}: the pod does not run as non-root (runAsNonRoot, runAsUser)")
    for c in pod.get("containers") or []:
        where = f"{kind} {name}"
        argv = c.get("command") or []
        if not argv:
            problems.append(f"{where}: no command")
            continue
        program = argv[0]
        k8s_programs[name] = program
        problems += program_problems(where, program)
        if program == "trivselctl":
            problems += ctl_problems(where, " ".join(argv))
        if not str(c.get("image", "")).endswith(f"trivsel:{version}"):
            problems.append(f"{where}: image {c.get('image')} is not trivsel:{version}")
        files, refs = pod_files(pod, c)
        for secret, key in refs:
            if key not in k8s_secrets.get(secret, set()):
                env_checks.append(f"{where}: mounts key {key} of Secret {secret}, which secrets.example.yaml does not show")
        env, env_errors = pod_env(c)
        env_checks += [f"{where}: {e}" for e in env_errors]
        env_checks += env_problems(where, program, env, files)
        csc = c.get("securityContext") or {}
        if not csc.get("readOnlyRootFilesystem") or csc.get("allowPrivilegeEscalation") is not False:
            spec_checks.append(f"{where}: needs readOnlyRootFilesystem: true and allowPrivilegeEscalation: false")
        if not (c.get("resources") or {}).get("requests") or not (c.get("resources") or {}).get("limits"):
            spec_checks.append(f"{where}: needs resource requests and limits")
        if program == "trivselctl" and "--role-passwords" in argv:
            folder = argv[argv.index("--role-passwords") + 1]
            for f in folders:
                if f != "ctl" and f"{folder}/trivsel_{f}.password" not in files:
                    env_checks.append(f"{where}: no {folder}/trivsel_{f}.password for the role trivsel_{f}")
        url = env.get("TRIVSEL_DATABASE_URL", "")
        if cnpg and url and not re.match(rf"postgresql://{cnpg['metadata']['name']}-rw:{POSTGRES_PORT}/", url):
            port_checks.append(f"{where}: TRIVSEL_DATABASE_URL {url} is not the read-write Service of the example cluster")
        if program not in daemons:
            continue
        if kind != "Deployment":
            problems.append(f"{where}: a daemon must run as a Deployment")
        if program == "trivsel-broker" and (replicas != 1 or (o["spec"].get("strategy") or {}).get("type") != "Recreate"):
            spec_checks.append(f"{where}: the broker runs as exactly 1 replica with strategy Recreate (one log writer)")
        if program != "trivsel-broker" and replicas < 2:
            spec_checks.append(f"{where}: a service runs as 2 replicas or more")
        # Ports and probes.
        ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
        http_port = port_of(env.get("TRIVSEL_HTTP_ADDRESS"))
        if http_port is None or ports.get("http") != http_port:
            port_checks.append(f"{where}: the port named http is not TRIVSEL_HTTP_ADDRESS's ({http_port})")
        endpoint_port = port_of(env.get("TRIVSEL_BROKER_ENDPOINT") or default_of("TRIVSEL_BROKER_ENDPOINT"))
        expected = {"http": http_port} | ({"zmq": endpoint_port} if program == "trivsel-broker" else {})
        if ports != expected:
            port_checks.append(f"{where}: container ports {ports} are not the ones the daemon listens on {expected}")
        for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz"), ("startupProbe", "/healthz")):
            get = (c.get(probe) or {}).get("httpGet") or {}
            if get.get("path") != path or path not in http_paths or get.get("port") not in ("http", http_port):
                port_checks.append(f"{where}: {probe} is not GET {path} on the http port")
        startup = c.get("startupProbe") or {}
        budget = startup.get("periodSeconds", 10) * startup.get("failureThreshold", 3)
        wait = duration_s(env.get("TRIVSEL_DATABASE_WAIT") or default_of("TRIVSEL_DATABASE_WAIT"))
        if not budget >= wait:
            spec_checks.append(f"{where}: startupProbe allows {budget}s, less than TRIVSEL_DATABASE_WAIT {wait}s")
        shutdown = duration_s(env.get("TRIVSEL_SHUTDOWN_TIMEOUT") or default_of("TRIVSEL_SHUTDOWN_TIMEOUT"))
        if not shutdown < pod.get("terminationGracePeriodSeconds", 30):
            spec_checks.append(f"{where}: TRIVSEL_SHUTDOWN_TIMEOUT {shutdown}s is not below terminationGracePeriodSeconds")
        if program != "trivsel-broker" and broker_k8s:
            want = f"tcp://{broker_k8s['metadata']['name']}:{broker_k8s['spec']['ports'][0]['port']}"
            if env.get("TRIVSEL_BROKER_ADDRESS") != want:
                port_checks.append(f"{where}: TRIVSEL_BROKER_ADDRESS is not {want}, the broker's Service")
for program in sorted(daemons):
    if program not in k8s_programs.values():
        problems.append(f"no Deployment runs {program}")
if not any(p == "trivselctl" and "migrate" in " ".join(o["spec"]["template"]["spec"]["containers"][0]["command"])
           for k, n, o in workloads if k == "Job" for p in [k8s_programs.get(n)]):
    problems.append("no Job runs trivselctl migrate")
report(f"{K8S}: every container runs a program the Makefile builds; every daemon has a Deployment; "
       "a Job migrates", problems)
text = "".join(read(p) for p in k8s_files)
report(f"{K8S}: every variable is one its program reads, the required ones are set, every *_FILE "
       "is a mounted file, every ConfigMap and Secret key exists", env_checks + named_variables(K8S, text))

# Services: the broker's port, and the metrics port of every pod.
for (kind, name), o in by_kind.items():
    if kind != "Service":
        continue
    selector = o["spec"].get("selector") or {}
    pods = [w for w in workloads if all((w[2]["spec"]["template"]["metadata"].get("labels") or {}).get(k) == v
                                        for k, v in selector.items())]
    if not pods:
        port_checks.append(f"Service {name} selects no pod")
    for port in o["spec"].get("ports") or []:
        for _, wname, w in pods:
            names = {p.get("name"): p["containerPort"] for c in w["spec"]["template"]["spec"]["containers"]
                     for p in c.get("ports") or []}
            target = port.get("targetPort", port["port"])
            if target not in names and target not in names.values():
                port_checks.append(f"Service {name}: targetPort {target} is no port of {wname}")
if broker_k8s is None:
    port_checks.append("no Service selects the broker")
elif broker_k8s["spec"]["ports"][0]["port"] != port_of(default_of("TRIVSEL_BROKER_ENDPOINT")):
    port_checks.append("the broker's Service port is not the broker's endpoint port")
report(f"{K8S}: probes ask /readyz and /healthz on the http port; ports and addresses are the ones "
       "the daemons use", port_checks)
report(f"{K8S}: non-root, read-only root, resources, replicas, startup and shutdown times", spec_checks)

# ---------------------------------------------------------------- docs/OPERATIONS.md

ops = read(OPERATIONS) if os.path.exists(OPERATIONS) else ""
report("README.md links docs/OPERATIONS.md", [] if "(docs/OPERATIONS.md)" in read("README.md") else
       ["add a link: [docs/OPERATIONS.md](docs/OPERATIONS.md)"])

rows = {}
for line in ops.splitlines():
    m = re.match(r"^\|\s*`(TRIVSEL_[A-Z0-9_]+)`\s*\|", line)
    if m:
        rows.setdefault(m.group(1), []).append(line)
problems = [f"{name} is missing (declared in {', '.join(sorted({v['file'] for v in config_vars if v['name'] == name}))})"
            for name in sorted(declared - set(rows))]
problems += [f"{name} is listed but no configuration table declares it" for name in sorted(set(rows) - declared)]
problems += [f"{name} is listed {len(lines)} times" for name, lines in rows.items() if len(lines) > 1]
report(f"{OPERATIONS} lists exactly the variables of the code's configuration tables", problems)

problems = []
for v in config_vars:
    if v["name"] not in rows:
        continue
    row = rows[v["name"]][0]
    cells = [c.strip() for c in row.strip().strip("|").split("|")]
    default = cells[1] if len(cells) > 1 else ""
    if v["default"] is None and "required" not in default:
        problems.append(f"{v['name']}: {v['file']} makes it required; the default column does not say so")
    elif v["default"] and f"`{v['default']}`" not in default:
        problems.append(f"{v['name']}: the default column does not show `{v['default']}` ({v['file']})")
    who = "every daemon" if v["owner"] == "daemons" else v["owner"]
    if v["owner"] != "all" and who not in row:
        problems.append(f"{v['name']}: the row does not say that {who} reads it ({v['file']})")
report(f"{OPERATIONS}: each variable's default and the programs reading it are the code's", problems)

problems = []
not_metrics = {"trivsel_admin", "trivsel_meta", "trivsel_outbox", "trivsel_principals"} | {f"trivsel_{f}" for f in folders}
for name in sorted(set(re.findall(r"\btrivsel_[a-z0-9_]*[a-z0-9]\b", ops)) - not_metrics):
    if name not in metrics:
        problems.append(f"{name} is named nowhere in the code (no metric, role or schema)")
for name in ("trivsel_broker_subscription_backlog", "trivsel_broker_refusals_total", "trivsel_database_connected"):
    if name not in ops:
        problems.append(f"what to alert on does not mention {name}")
report(f"{OPERATIONS}: the metrics it names are the code's", problems)

problems = ctl_problems(OPERATIONS, ops)
problems += [f"{OPERATIONS} does not mention the trivselctl command `{c}`" for c in sorted(ctl_commands)
             if f"`{c}`" not in ops and f"trivselctl {c}" not in ops]
for path in (f"{K8S}/README.md", SECRETS_README):
    problems += ctl_problems(path, read(path))
report("the guides name every trivselctl command, and only those that exist", problems)

problems = named_variables(OPERATIONS, ops)
for path in (f"{K8S}/README.md", SECRETS_README):
    problems += named_variables(path, read(path))
for doc in (OPERATIONS, f"{K8S}/README.md", SECRETS_README):
    for span in code_spans(read(doc)) + re.findall(r"\]\(([^)\s]+)\)", read(doc)):
        for path in re.findall(r"(?<![\w/.-])((?:deploy|services|common|proto|tests|docs)/[\w./-]*[\w/])", span):
            if re.search(r"[*<]", path) or os.path.exists(path):
                continue
            if os.path.dirname(path) == SECRETS_DIR and f"`{os.path.basename(path)}`" in read(SECRETS_README):
                continue  # a file the operator makes, as deploy/secrets/README.md says
            problems.append(f"{doc}: {path} does not exist")
report("the guides name only variables the code declares and files that exist", problems)

sys.exit(0)
PYTHON
