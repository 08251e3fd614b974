"""Static checks of the deployment files (Docker cannot run here: they are parsed, not run).

Each check reads a `Tree` (the repository, or a broken copy of its files in a test) and
returns the problems it finds, one sentence each; an empty list is a pass. They check that
the Dockerfile, docker-compose.yml and the Kubernetes manifests agree with each other and
with the code: the Procfile's commands, the settings, the routes of the probes, the port, the
shutdown timeouts, the image version.
"""

from __future__ import annotations

import ast
import json
import re
import shlex
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from pydantic import AliasChoices

from config.settings import Settings
from traaaction.processes import STOP_GRACE
from traaaction.web import GRACEFUL_SHUTDOWN

REPO = Path(__file__).resolve().parents[2]

#: what a broken copy of the tree needs: copies of what the tests break, links to the rest
TREE_FILES = ("Procfile", "pyproject.toml", "ingress/app.py", "docs/operations.md", "deploy")
TREE_LINKS = ("README.md", "config", "domain", "storage", "workers", "traaaction", "bench")

#: the processes the issue asks the Procfile for, each with a compose service of that name and
#: a Kubernetes workload `traaaction-<name>` (a Job for the one-shot `release`)
PROCESSES = ("web", "worker", "scheduler", "release")
ONE_SHOT = frozenset({"release"})
APP_IMAGE = "traaaction-webhooks"
#: the Secret the manifests reference (created by the operator, never committed)
SECRET_NAME = "traaaction"
#: settings that are secrets: from the Secret (Kubernetes) or deploy/.env (compose), never
#: written as values in deploy/
SECRET_SETTINGS = frozenset({"DATABASE_URL", "REDIS_URL", "TRAAACTION_KEYS", "OPS_TOKEN"})
#: a container refuses to start without these (the embedded default is for one machine)
REQUIRED_IN_CONTAINERS = ("DATABASE_URL", "REDIS_URL", "TRAAACTION_KEYS")

#: environment variables named in deploy/ that are not settings of config/settings.py
NOT_SETTINGS: dict[str, str] = {
    "PATH": "the image puts its virtualenv first",
    "PYTHONUNBUFFERED": "the interpreter: output leaves at once",
    "PYTHONDONTWRITEBYTECODE": "the interpreter: no .pyc written on a read-only root",
    "PIP_NO_CACHE_DIR": "pip, in the builder stage only",
    "PIP_DISABLE_PIP_VERSION_CHECK": "pip, in the builder stage only",
    "PYTHON_IMAGE": "a build argument: the base image of both stages",
    "POSTGRES_USER": "the postgres image's (compose)",
    "POSTGRES_DB": "the postgres image's (compose)",
    "POSTGRES_PASSWORD": "the postgres image's, and part of DATABASE_URL (compose)",
}

#: packages that only build software; none belongs in the runtime stage
BUILD_TOOLS = frozenset(
    {"gcc", "g++", "cc", "make", "build-essential", "git", "libpq-dev", "python3-dev", "clang"}
)
#: the alerts (deploy/prometheus/) docs/operations.md has a runbook for
ALERTS = (
    "DeadLettersGrowing",
    "QueueAgeHigh",
    "Ingress5xxRate",
    "SignatureFailuresSpiking",
    "SchedulerNotRunning",
)
#: the one writable directory of the containers (their root file system is read-only)
TMP = "/tmp"  # noqa: S108 - a mount path checked for, not a file used
_PLACEHOLDERS = re.compile(r"\b(TODO|TBD|FIXME|XXX)\b")
_INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


# --- reading the files ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Instruction:
    keyword: str
    value: str
    line: int

    def exec_form(self) -> list[str] | None:
        """The JSON array of an exec-form CMD/ENTRYPOINT; None in shell form."""
        if not self.value.startswith("["):
            return None
        try:
            parsed = json.loads(self.value)
        except json.JSONDecodeError:
            return None
        if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
            return None
        return parsed

    def flags_and_words(self) -> tuple[dict[str, str], list[str]]:
        """`COPY --from=builder --chmod=0755 a b` -> ({"from": "builder", ...}, ["a", "b"])."""
        flags: dict[str, str] = {}
        words: list[str] = []
        for word in shlex.split(self.value):
            if word.startswith("--") and not words:
                key, _, value = word[2:].partition("=")
                flags[key] = value
            else:
                words.append(word)
        return flags, words


@dataclass(slots=True)
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction | None:
        found = self.all(keyword)
        return found[-1] if found else None

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            words = shlex.split(instruction.value)
            if words and "=" not in words[0]:  # the legacy form: ENV KEY value
                values[words[0]] = " ".join(words[1:])
                continue
            for word in words:
                key, _, value = word.partition("=")
                values[key] = value
        return values


@dataclass(slots=True)
class Dockerfile:
    args: dict[str, str]
    stages: list[Stage]


def parse_dockerfile(text: str) -> Dockerfile:
    """A line parser: comments, continuations, global ARGs and one Stage per FROM."""
    logical: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not buffer):
            continue  # comments and blank lines, inside a continuation too
        if not buffer:
            start = number
        if stripped.endswith("\\"):
            buffer.append(stripped[:-1].strip())
            continue
        buffer.append(stripped)
        logical.append((start, " ".join(part for part in buffer if part)))
        buffer = []
    if buffer:
        logical.append((start, " ".join(buffer)))

    args: dict[str, str] = {}
    stages: list[Stage] = []
    for number, line in logical:
        keyword, _, value = line.partition(" ")
        instruction = Instruction(keyword.upper(), value.strip(), number)
        if instruction.keyword == "FROM":
            words = [w for w in instruction.value.split() if not w.startswith("--")]
            base = _substitute(words[0], args)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(base=base, name=name))
        elif not stages:
            if instruction.keyword == "ARG":
                key, _, default = instruction.value.partition("=")
                args[key.strip()] = default.strip()
        else:
            stages[-1].instructions.append(instruction)
    return Dockerfile(args=args, stages=stages)


def _substitute(value: str, args: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        return args.get(match.group(1) or match.group(2), "")

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", one, value)


def normalise_command(line: str) -> list[str]:
    """A Procfile command as an exec-form list: `${PORT:-8000}` becomes its default."""

    def default(match: re.Match[str]) -> str:
        if match.group(2) in (":-", "-"):
            return match.group(3) or ""
        return match.group(0)

    return shlex.split(_INTERPOLATION.sub(default, line))


def image_reference(image: str) -> tuple[str, str | None]:
    """`registry:5000/name:tag` -> ("registry:5000/name", "tag"); no tag -> None."""
    if "@" in image:
        name, _, digest = image.partition("@")
        return name, digest
    last = image.rsplit("/", 1)[-1]
    if ":" in last:
        return image[: image.rfind(":")], last.split(":", 1)[1]
    return image, None


def image_problem(image: str, where: str) -> str | None:
    _name, tag = image_reference(image)
    if tag is None or tag == "latest":
        return f"{where}: image {image!r} is not pinned (a version tag or a digest, not :latest)"
    return None


def setting_names() -> set[str]:
    """Every environment variable config/settings.py reads (aliases included)."""
    names: set[str] = set()
    for info in Settings.model_fields.values():
        alias = info.validation_alias
        if isinstance(alias, str):
            names.add(alias)
        elif isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
    return names


def duration_seconds(value: object) -> float:
    """A compose duration ("35s", "1m30s") or a number of seconds."""
    if isinstance(value, int | float):
        return float(value)
    total = 0.0
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|h|m|s)", str(value))
    if not parts or "".join(n + u for n, u in parts) != str(value):
        raise ValueError(f"not a duration: {value!r}")
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}
    for number, unit in parts:
        total += float(number) * scale[unit]
    return total


@dataclass(frozen=True)
class Tree:
    root: Path

    @property
    def deploy(self) -> Path:
        return self.root / "deploy"

    @cached_property
    def procfile(self) -> dict[str, list[str]]:
        processes: dict[str, list[str]] = {}
        for line in (self.root / "Procfile").read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            name, _, command = line.partition(":")
            processes[name.strip()] = normalise_command(command)
        return processes

    @cached_property
    def version(self) -> str:
        data = tomllib.loads((self.root / "pyproject.toml").read_text(encoding="utf-8"))
        version: str = data["project"]["version"]
        return version

    @cached_property
    def dockerfile(self) -> Dockerfile:
        return parse_dockerfile((self.deploy / "Dockerfile").read_text(encoding="utf-8"))

    @cached_property
    def compose(self) -> dict[str, Any]:
        data = yaml.safe_load((self.deploy / "docker-compose.yml").read_text(encoding="utf-8"))
        assert isinstance(data, dict), "docker-compose.yml is not a mapping"
        return data

    @property
    def services(self) -> dict[str, dict[str, Any]]:
        services: dict[str, dict[str, Any]] = self.compose.get("services") or {}
        return services

    @cached_property
    def manifests(self) -> list[tuple[str, dict[str, Any]]]:
        """(file name, document) for every Kubernetes object in deploy/k8s/*.yaml."""
        found: list[tuple[str, dict[str, Any]]] = []
        for path in sorted((self.deploy / "k8s").glob("*.yaml")):
            for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
                if isinstance(document, dict) and document.get("kind") not in (
                    None,
                    "Kustomization",
                ):
                    found.append((path.name, document))
        return found

    def objects(self, kind: str) -> dict[str, dict[str, Any]]:
        return {
            doc["metadata"]["name"]: doc for _file, doc in self.manifests if doc["kind"] == kind
        }

    @property
    def workloads(self) -> dict[str, dict[str, Any]]:
        return {**self.objects("Deployment"), **self.objects("Job")}

    @cached_property
    def adapter_values(self) -> dict[str, Any]:
        path = self.deploy / "k8s" / "prometheus-adapter" / "values.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        assert isinstance(data, dict)
        return data

    @cached_property
    def env_example(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for line in (self.deploy / ".env.example").read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                values[key.strip()] = value.strip()
        return values

    @cached_property
    def routes(self) -> set[str]:
        """The paths of the Route(...) entries of ingress/app.py."""
        tree = ast.parse((self.root / "ingress" / "app.py").read_text(encoding="utf-8"))
        paths: set[str] = set()
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "Route"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                paths.add(node.args[0].value)
        return paths

    @property
    def web_port(self) -> int:
        command = self.procfile.get("web", [])
        if "--port" in command and command.index("--port") + 1 < len(command):
            return int(command[command.index("--port") + 1])
        return 8000


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = pod_spec(workload).get("containers") or []
    return found


def pod_labels(workload: dict[str, Any]) -> dict[str, str]:
    labels: dict[str, str] = workload["spec"]["template"]["metadata"].get("labels") or {}
    return labels


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _named_port(container: dict[str, Any], port: object) -> int | None:
    if isinstance(port, int):
        return port
    for entry in container.get("ports") or []:
        if entry.get("name") == port:
            value: int = entry["containerPort"]
            return value
    return None


def _app_containers(tree: Tree) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, workload in tree.workloads.items():
        for container in containers(workload):
            if image_reference(str(container.get("image", "")))[0].endswith(APP_IMAGE):
                yield name, container


# --- the checks ----------------------------------------------------------------------------


def check_procfile(tree: Tree) -> list[str]:
    problems = [f"Procfile: no `{name}` process" for name in PROCESSES if name not in tree.procfile]
    import click

    from traaaction.cli import cli

    for name, argv in tree.procfile.items():
        if not argv or argv[0] != "traaaction":
            problems.append(f"Procfile: `{name}` does not run `traaaction`")
            continue
        # Resolve the subcommands and parse the options, as `traaaction` would (no run).
        command: click.Command = cli
        words = argv[1:]
        context = click.Context(cli, info_name="traaaction")
        while isinstance(command, click.Group) and words and not words[0].startswith("-"):
            found = command.get_command(context, words[0])
            if found is None:
                problems.append(f"Procfile: `{name}`: no command `{words[0]}` in `traaaction`")
                break
            command, words = found, words[1:]
        else:
            try:
                command.make_context(command.name, list(words), parent=context)
            except click.ClickException as exc:
                problems.append(f"Procfile: `{name}`: {exc.format_message()}")
    return problems


def check_dockerfile(tree: Tree) -> list[str]:  # noqa: PLR0912 - one flat list of rules
    problems: list[str] = []
    dockerfile = tree.dockerfile
    if len(dockerfile.stages) < 2:
        return ["Dockerfile: not multi-stage (a builder stage, then the runtime stage)"]
    final = dockerfile.stages[-1]
    earlier = {stage.name for stage in dockerfile.stages[:-1] if stage.name}
    if not any(i.flags_and_words()[0].get("from") in earlier for i in final.all("COPY")):
        problems.append("Dockerfile: the final stage copies nothing from an earlier stage")
    for stage in dockerfile.stages:
        problem = image_problem(stage.base, f"Dockerfile FROM ({stage.name or 'final'})")
        if problem:
            problems.append(problem)
    if len({stage.base for stage in dockerfile.stages}) != 1:
        problems.append(
            "Dockerfile: the stages start from different images (the virtualenv built in one "
            "must run on the interpreter of the other)"
        )
    for run in final.all("RUN"):
        tokens = set(re.split(r"[\s;&|]+", run.value))
        if "install" in tokens and tokens & BUILD_TOOLS:
            problems.append(
                f"Dockerfile line {run.line}: the final stage installs build tools "
                f"({', '.join(sorted(tokens & BUILD_TOOLS))})"
            )

    user = final.last("USER")
    uid = user.value.split(":")[0] if user else "root"
    if uid in ("root", "0") or not uid.isdigit():
        problems.append(
            f"Dockerfile: the final stage must run as a non-root numeric uid (USER {uid})"
        )

    entrypoint, cmd = final.last("ENTRYPOINT"), final.last("CMD")
    for label, instruction in (("ENTRYPOINT", entrypoint), ("CMD", cmd)):
        if instruction is None or instruction.exec_form() is None:
            problems.append(f"Dockerfile: {label} must be in exec form (a JSON array)")
    entry = entrypoint.exec_form() if entrypoint else None
    if entry and not entry[0].endswith("/tini"):
        problems.append("Dockerfile: the entrypoint must start with tini (PID 1, signals)")
    command = cmd.exec_form() if cmd else None
    if command is not None and command != tree.procfile.get("web"):
        problems.append(f"Dockerfile: CMD {command} is not the Procfile's web command")

    env = final.env()
    for key, wanted in (("PYTHONUNBUFFERED", "1"), ("LOG_FORMAT", "json")):
        if env.get(key) != wanted:
            problems.append(f"Dockerfile: the final stage must set ENV {key}={wanted}")
    for key in REQUIRED_IN_CONTAINERS:
        if key in env:
            problems.append(f"Dockerfile: {key} must come from the deployment, not the image")

    exposed = {int(p.split("/")[0]) for i in final.all("EXPOSE") for p in i.value.split()}
    if exposed != {tree.web_port}:
        problems.append(f"Dockerfile: EXPOSE {sorted(exposed)} is not the web port {tree.web_port}")
    stop = final.last("STOPSIGNAL")
    if stop is not None and stop.value not in ("SIGTERM", "15"):
        problems.append(f"Dockerfile: STOPSIGNAL {stop.value}: the processes stop on SIGTERM")

    ignore = tree.deploy / "Dockerfile.dockerignore"
    allowed = [
        line[1:].strip().rstrip("/")
        for line in ignore.read_text(encoding="utf-8").splitlines()
        if line.startswith("!")
    ]
    for stage in dockerfile.stages:
        for copy in stage.all("COPY"):
            flags, words = copy.flags_and_words()
            if "from" in flags:
                continue
            for source in words[:-1]:
                if not (tree.root / source).exists():
                    problems.append(f"Dockerfile line {copy.line}: COPY {source}: no such path")
                if not any(source == a or source.startswith(a + "/") for a in allowed):
                    problems.append(
                        f"Dockerfile line {copy.line}: COPY {source} is excluded by "
                        "Dockerfile.dockerignore"
                    )
    return problems


def check_entrypoint(tree: Tree) -> list[str]:
    text = (tree.deploy / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    match = re.search(r"^\s*for name in ([A-Z_ ]+);", text, re.MULTILINE)
    required = set(match.group(1).split()) if match else set()
    problems = [
        f"entrypoint.sh: does not require {name} (containers never use the embedded default)"
        for name in REQUIRED_IN_CONTAINERS
        if name not in required
    ]
    if not re.search(r'^exec "\$@"$', text, re.MULTILINE):
        problems.append('entrypoint.sh: must end with exec "$@" (signals reach the command)')
    return problems


def _compose_image(service: dict[str, Any]) -> str:
    return str(service.get("image", ""))


def check_compose(tree: Tree) -> list[str]:  # noqa: PLR0912 - one flat list of rules
    problems: list[str] = []
    services = tree.services
    for name in (*PROCESSES, "postgres", "redis"):
        if name not in services:
            problems.append(f"compose: no service `{name}`")
    for name, each in services.items():
        problem = image_problem(_compose_image(each), f"compose service {name}")
        if problem:
            problems.append(problem)

    for process, argv in tree.procfile.items():
        service = services.get(process)
        if service is None:
            continue
        if service.get("command") != argv:
            problems.append(
                f"compose: `{process}` runs {service.get('command')}, the Procfile {argv}"
            )
        if "entrypoint" in service:
            problems.append(f"compose: `{process}` overrides the image's entrypoint (tini)")
        image, tag = image_reference(_compose_image(service))
        if image != APP_IMAGE or tag != tree.version:
            problems.append(
                f"compose: `{process}` runs {_compose_image(service)!r}, not "
                f"{APP_IMAGE}:{tree.version} (pyproject.toml's version)"
            )
        build = service.get("build") or {}
        dockerfile = (tree.deploy / str(build.get("context", "."))) / str(
            build.get("dockerfile", "Dockerfile")
        )
        if not dockerfile.resolve().is_file():
            problems.append(f"compose: `{process}` builds from {dockerfile}: no such file")
        environment: dict[str, Any] = service.get("environment") or {}
        if "@postgres:" not in str(environment.get("DATABASE_URL", "")):
            problems.append(f"compose: `{process}`'s DATABASE_URL is not the postgres service")
        if not str(environment.get("REDIS_URL", "")).startswith("redis://redis:"):
            problems.append(f"compose: `{process}`'s REDIS_URL is not the redis service")
        keys = _INTERPOLATION.fullmatch(str(environment.get("TRAAACTION_KEYS", "")))
        if keys is None or keys.group(2) != ":?":
            problems.append(
                f"compose: `{process}` must take TRAAACTION_KEYS from deploy/.env, required "
                "(${TRAAACTION_KEYS:?...})"
            )
        depends: dict[str, Any] = service.get("depends_on") or {}
        if process == "release":
            if (depends.get("postgres") or {}).get("condition") != "service_healthy":
                problems.append("compose: `release` must wait for a healthy postgres")
        elif (depends.get("release") or {}).get("condition") != "service_completed_successfully":
            problems.append(f"compose: `{process}` must start after `release` succeeded")

    redis_command = services.get("redis", {}).get("command") or []
    if isinstance(redis_command, str):
        redis_command = shlex.split(redis_command)
    redis_options = dict(zip(redis_command[1::2], redis_command[2::2], strict=False))
    for option, wanted in (
        ("--appendonly", "yes"),
        ("--appendfsync", "always"),
        ("--maxmemory-policy", "noeviction"),
    ):
        if redis_options.get(option) != wanted:
            problems.append(f"compose: redis must run with {option} {wanted}")
    declared = set((tree.compose.get("volumes") or {}).keys())
    for name, path in (("redis", "/data"), ("postgres", "/var/lib/postgresql")):
        mounts = [str(v) for v in services.get(name, {}).get("volumes") or []]
        volume = next((m.split(":")[0] for m in mounts if m.split(":")[1:2] == [path]), None)
        if volume not in declared:
            problems.append(f"compose: {name} must keep {path} in a named volume")
    healthcheck = " ".join(services.get("postgres", {}).get("healthcheck", {}).get("test", []))
    if "pg_isready" not in healthcheck:
        problems.append("compose: postgres' healthcheck must use pg_isready")

    web = services.get("web", {})
    published = [str(p).rsplit(":", 1)[-1] for p in web.get("ports") or []]
    if published != [str(tree.web_port)]:
        problems.append(f"compose: web publishes {published}, not its port {tree.web_port}")
    check = " ".join(str(x) for x in web.get("healthcheck", {}).get("test", []))
    url = re.search(r"http://[^:/]+:(\d+)(/[^'\" ]*)", check)
    if url is None or int(url.group(1)) != tree.web_port or url.group(2) not in tree.routes:
        problems.append("compose: web's healthcheck must ask one of its routes on its port")

    minimum = {"web": GRACEFUL_SHUTDOWN, "worker": STOP_GRACE}
    for name, floor in minimum.items():
        grace = duration_seconds(services.get(name, {}).get("stop_grace_period", "10s"))
        if grace <= floor:
            problems.append(
                f"compose: {name}'s stop_grace_period ({grace:g} s) must exceed its own "
                f"shutdown timeout ({floor:g} s)"
            )
    return problems


def check_k8s_workloads(tree: Tree) -> list[str]:  # noqa: PLR0912 - one flat list of rules
    problems: list[str] = []
    workloads = tree.workloads
    deployments, jobs = tree.objects("Deployment"), tree.objects("Job")
    for process, argv in tree.procfile.items():
        name = f"traaaction-{process}"
        kind_of = jobs if process in ONE_SHOT else deployments
        if name not in kind_of:
            kind = "Job" if process in ONE_SHOT else "Deployment"
            problems.append(f"k8s: no {kind} {name} for the Procfile's `{process}`")
            continue
        found = containers(kind_of[name])
        if [c.get("args") for c in found] != [argv]:
            problems.append(f"k8s: {name} runs {[c.get('args') for c in found]}, not {argv}")
        for container in found:
            if "command" in container:
                problems.append(
                    f"k8s: {name} sets `command`, which replaces the image's entrypoint (tini)"
                )

    uid = tree.dockerfile.stages[-1].last("USER")
    image_uid = int(uid.value.split(":")[0]) if uid and uid.value[:1].isdigit() else None
    for name, workload in workloads.items():
        spec = pod_spec(workload)
        security = spec.get("securityContext") or {}
        if security.get("runAsNonRoot") is not True:
            problems.append(f"k8s: {name} must set runAsNonRoot: true")
        if security.get("runAsUser") != image_uid:
            problems.append(
                f"k8s: {name} runs as uid {security.get('runAsUser')}, the image as {image_uid}"
            )
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"k8s: {name} needs no Kubernetes API token; do not mount one")
        if "terminationGracePeriodSeconds" not in spec:
            problems.append(f"k8s: {name} must set terminationGracePeriodSeconds")
        volumes = {v["name"]: v for v in spec.get("volumes") or []}
        for container in containers(workload):
            where = f"k8s: {name}/{container.get('name')}"
            problem = image_problem(str(container.get("image", "")), where)
            if problem:
                problems.append(problem)
            context = container.get("securityContext") or {}
            if context.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}: readOnlyRootFilesystem must be true")
            if context.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}: allowPrivilegeEscalation must be false")
            if (context.get("capabilities") or {}).get("drop") != ["ALL"]:
                problems.append(f"{where}: must drop ALL capabilities")
            tmp = [m for m in container.get("volumeMounts") or [] if m["mountPath"] == TMP]
            if not tmp or "emptyDir" not in volumes.get(tmp[0]["name"], {}):
                problems.append(f"{where}: needs an emptyDir at /tmp (the root is read-only)")
            resources = container.get("resources") or {}
            requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
            if not {"cpu", "memory"} <= set(requests) or "memory" not in limits:
                problems.append(f"{where}: needs cpu and memory requests and a memory limit")

    for name, container in _app_containers(tree):
        _image, tag = image_reference(str(container["image"]))
        if tag != tree.version:
            problems.append(f"k8s: {name} runs {APP_IMAGE}:{tag}, not {tree.version}")
    return problems


def _grace(workload: dict[str, Any]) -> float:
    return float(pod_spec(workload).get("terminationGracePeriodSeconds", 30))


def _pre_stop_sleep(container: dict[str, Any]) -> float:
    hook = (container.get("lifecycle") or {}).get("preStop") or {}
    command = (hook.get("exec") or {}).get("command") or []
    if len(command) == 2 and command[0] == "sleep":
        return float(command[1])
    if "sleep" in hook:
        return float(hook["sleep"]["seconds"])
    return 0.0


def check_k8s_shutdown(tree: Tree) -> list[str]:
    problems: list[str] = []
    web = tree.objects("Deployment").get("traaaction-web")
    worker = tree.objects("Deployment").get("traaaction-worker")
    if web is not None:
        need = max(_pre_stop_sleep(c) for c in containers(web)) + GRACEFUL_SHUTDOWN
        if _grace(web) <= need:
            problems.append(
                f"k8s: traaaction-web's terminationGracePeriodSeconds ({_grace(web):g}) must "
                f"exceed preStop + uvicorn's graceful shutdown ({need:g} s)"
            )
    if worker is not None and _grace(worker) <= STOP_GRACE:
        problems.append(
            f"k8s: traaaction-worker's terminationGracePeriodSeconds ({_grace(worker):g}) must "
            f"exceed the workers' STOP_GRACE ({STOP_GRACE:g} s)"
        )
    return problems


def configured(tree: Tree, field_name: str) -> float:
    """A numeric setting as the pods get it: from the ConfigMap, else its default."""
    info = Settings.model_fields[field_name]
    alias = info.validation_alias
    assert isinstance(alias, str), f"{field_name} has no single environment variable"
    for config in tree.objects("ConfigMap").values():
        value = (config.get("data") or {}).get(alias)
        if value is not None:
            return float(value)
    assert isinstance(info.default, int | float)
    return float(info.default)


def check_k8s_network(tree: Tree) -> list[str]:  # noqa: PLR0912 - one flat list of rules
    problems: list[str] = []
    web = tree.objects("Deployment").get("traaaction-web")
    if web is None:
        return ["k8s: no Deployment traaaction-web"]
    container = containers(web)[0]
    ports = [p.get("containerPort") for p in container.get("ports") or []]
    if ports != [tree.web_port]:
        problems.append(f"k8s: traaaction-web's containerPort {ports} is not {tree.web_port}")

    probes = {
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
        "startupProbe": None,
    }
    for probe_name, wanted_path in probes.items():
        probe = container.get(probe_name)
        if probe is None:
            if wanted_path is not None:
                problems.append(f"k8s: traaaction-web has no {probe_name}")
            continue
        get = probe.get("httpGet") or {}
        path = get.get("path")
        if wanted_path is not None and path != wanted_path:
            problems.append(f"k8s: traaaction-web's {probe_name} asks {path}, not {wanted_path}")
        if path not in tree.routes:
            problems.append(f"k8s: {probe_name} path {path} is not a route of ingress/app.py")
        if _named_port(container, get.get("port")) != tree.web_port:
            problems.append(f"k8s: traaaction-web's {probe_name} port is not {tree.web_port}")
    readiness = container.get("readinessProbe") or {}
    if float(readiness.get("timeoutSeconds", 1)) <= configured(tree, "readiness_timeout"):
        problems.append(
            "k8s: the readiness probe's timeoutSeconds must exceed READINESS_TIMEOUT, the time "
            "/readyz may take to answer"
        )

    # Scrape annotations name a port the pod serves; the workers' is WORKER_METRICS_PORT.
    for name, deployment in tree.objects("Deployment").items():
        annotations = deployment["spec"]["template"]["metadata"].get("annotations") or {}
        if annotations.get("prometheus.io/scrape") != "true":
            continue
        served = {
            p.get("containerPort") for c in containers(deployment) for p in c.get("ports") or []
        }
        if int(annotations.get("prometheus.io/port", 0)) not in served:
            problems.append(f"k8s: {name} is scraped on a port it does not serve")
    worker = tree.objects("Deployment").get("traaaction-worker")
    if worker is not None:
        metrics = [_named_port(c, "metrics") for c in containers(worker)]
        wanted = int(configured(tree, "worker_metrics_port"))
        if metrics != [wanted]:
            problems.append(
                f"k8s: traaaction-worker's `metrics` port {metrics} is not WORKER_METRICS_PORT "
                f"({wanted})"
            )

    services = tree.objects("Service")
    web_services = [
        s for s in services.values() if selects(s["spec"].get("selector") or {}, pod_labels(web))
    ]
    if not web_services:
        problems.append("k8s: no Service selects the web pods")
    for service in web_services:
        for port in service["spec"].get("ports") or []:
            target = _named_port(container, port.get("targetPort", port.get("port")))
            if target != tree.web_port or port.get("port") != tree.web_port:
                problems.append(
                    f"k8s: Service {service['metadata']['name']} maps {port.get('port')} -> "
                    f"{port.get('targetPort')}, not {tree.web_port} -> the web port"
                )
    return problems


def check_k8s_policies(tree: Tree) -> list[str]:  # noqa: PLR0912 - one flat list of rules
    problems: list[str] = []
    deployments = tree.objects("Deployment")
    covered: set[str] = set()
    for name, pdb in tree.objects("PodDisruptionBudget").items():
        selector = (pdb["spec"].get("selector") or {}).get("matchLabels") or {}
        matched = [d for d, dep in deployments.items() if selects(selector, pod_labels(dep))]
        if len(matched) != 1:
            problems.append(f"k8s: PodDisruptionBudget {name} selects {matched or 'no pods'}")
        covered.update(matched)
    for name in ("traaaction-web", "traaaction-worker"):
        if name not in covered:
            problems.append(f"k8s: no PodDisruptionBudget covers {name}")

    adapter_rules = (tree.adapter_values.get("rules") or {}).get("external") or []
    adapter_metrics = {str((rule.get("name") or {}).get("as")) for rule in adapter_rules}
    scaled: dict[str, dict[str, Any]] = {}
    for name, hpa in tree.objects("HorizontalPodAutoscaler").items():
        if hpa.get("apiVersion") != "autoscaling/v2":
            problems.append(f"k8s: HorizontalPodAutoscaler {name} must be autoscaling/v2")
        target = hpa["spec"]["scaleTargetRef"]
        if target.get("kind") != "Deployment" or target.get("name") not in deployments:
            problems.append(f"k8s: HorizontalPodAutoscaler {name} scales {target}: no such target")
            continue
        scaled[target["name"]] = hpa
        if hpa["spec"].get("minReplicas", 1) > hpa["spec"]["maxReplicas"]:
            problems.append(f"k8s: HorizontalPodAutoscaler {name}: minReplicas > maxReplicas")
        for metric in hpa["spec"].get("metrics") or []:
            if metric["type"] == "External":
                metric_name = metric["external"]["metric"]["name"]
                if metric_name not in adapter_metrics:
                    problems.append(
                        f"k8s: HorizontalPodAutoscaler {name} uses {metric_name}, which the "
                        "prometheus-adapter rules (prometheus-adapter/values.yaml) do not serve"
                    )

    def metric_kinds(hpa: dict[str, Any]) -> set[str]:
        kinds: set[str] = set()
        for metric in hpa["spec"].get("metrics") or []:
            if metric["type"] == "Resource":
                kinds.add(metric["resource"]["name"])
            elif metric["type"] == "External":
                kinds.add(metric["external"]["metric"]["name"])
        return kinds

    if "cpu" not in metric_kinds(scaled.get("traaaction-web", {"spec": {}})):
        problems.append("k8s: no HorizontalPodAutoscaler scales traaaction-web on CPU")
    if "traaaction_queue_depth" not in metric_kinds(scaled.get("traaaction-worker", {"spec": {}})):
        problems.append(
            "k8s: no HorizontalPodAutoscaler scales traaaction-worker on traaaction_queue_depth"
        )
    return problems


def _env_entries(tree: Tree) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, workload in tree.workloads.items():
        for container in containers(workload):
            for entry in container.get("env") or []:
                yield f"{name}/{container.get('name')}", entry


def check_secrets(tree: Tree) -> list[str]:  # noqa: PLR0912 - one flat list of rules
    problems: list[str] = []
    for file, document in tree.manifests:
        if document["kind"] == "Secret":
            problems.append(f"k8s: {file} defines a Secret: reference it, never commit values")
    config_maps = tree.objects("ConfigMap")
    for name, config in config_maps.items():
        for key in SECRET_SETTINGS & set(config.get("data") or {}):
            problems.append(f"k8s: ConfigMap {name} holds {key}, a secret")
    seen: dict[str, set[str]] = {}
    for where, entry in _env_entries(tree):
        name = entry["name"]
        ref = (entry.get("valueFrom") or {}).get("secretKeyRef")
        if name in SECRET_SETTINGS and ref is None:
            problems.append(f"k8s: {where} sets {name} without the Secret `{SECRET_NAME}`")
        if ref is not None:
            if ref.get("name") != SECRET_NAME or ref.get("key") != name:
                problems.append(
                    f"k8s: {where}: {name} must come from key {name} of Secret {SECRET_NAME}"
                )
            if name in REQUIRED_IN_CONTAINERS and ref.get("optional"):
                problems.append(f"k8s: {where}: {name} is required, not optional")
        seen.setdefault(where, set()).add(name)
    for where, names in seen.items():
        for name in REQUIRED_IN_CONTAINERS:
            if name not in names:
                problems.append(f"k8s: {where} lacks {name} (the container refuses to start)")
    for name, workload in tree.workloads.items():
        for container in containers(workload):
            for source in container.get("envFrom") or []:
                ref = (source.get("configMapRef") or {}).get("name")
                if ref is not None and ref not in config_maps:
                    problems.append(f"k8s: {name} reads ConfigMap {ref}, which is not defined")

    for process in tree.procfile:
        environment = tree.services.get(process, {}).get("environment") or {}
        for key in sorted(SECRET_SETTINGS & set(environment)):
            value = str(environment[key] or "")
            # Keys and tokens come whole from deploy/.env; a URL's password does (the URLs
            # themselves name the compose services).
            password = re.search(r"://[^:/@]+:([^@]*)@", value)
            secret = password.group(1) if password else None if key.endswith("_URL") else value
            if secret and not _INTERPOLATION.fullmatch(secret):
                problems.append(f"compose: `{process}` writes {key}'s secret out: use deploy/.env")
    for key in SECRET_SETTINGS | {"POSTGRES_PASSWORD"}:
        if tree.env_example.get(key):
            problems.append(f".env.example: {key} has a value; leave secrets empty")
    return problems


def env_names(tree: Tree) -> dict[str, str]:  # noqa: PLR0912 - one loop per file kind
    """Every environment variable named in deploy/, with where."""
    names: dict[str, str] = {}
    dockerfile = tree.dockerfile
    for key in dockerfile.args:
        names.setdefault(key, "Dockerfile ARG")
    for stage in dockerfile.stages:
        for key in stage.env():
            names.setdefault(key, "Dockerfile ENV")
        for arg in stage.all("ARG"):
            names.setdefault(arg.value.partition("=")[0], "Dockerfile ARG")
    compose_text = (tree.deploy / "docker-compose.yml").read_text(encoding="utf-8")
    for match in _INTERPOLATION.finditer(compose_text):
        names.setdefault(match.group(1), "docker-compose.yml ${...}")
    for service_name, service in tree.services.items():
        for key in service.get("environment") or {}:
            names.setdefault(key, f"docker-compose.yml {service_name}")
    for key in tree.env_example:
        names.setdefault(key, ".env.example")
    for where, entry in _env_entries(tree):
        names.setdefault(entry["name"], f"k8s {where}")
    for name, config in tree.objects("ConfigMap").items():
        for key in config.get("data") or {}:
            names.setdefault(key, f"k8s ConfigMap {name}")
    text = (tree.deploy / "docker" / "entrypoint.sh").read_text(encoding="utf-8")
    for match in re.finditer(r"^\s*for name in ([A-Z_ ]+);", text, re.MULTILINE):
        for key in match.group(1).split():
            names.setdefault(key, "entrypoint.sh")
    return names


def check_env_names(tree: Tree) -> list[str]:
    known = setting_names()
    return [
        f"{where}: {name} is not a setting (config/settings.py) nor a documented exception"
        for name, where in sorted(env_names(tree).items())
        if name not in known and name not in NOT_SETTINGS
    ]


def check_kustomization(tree: Tree) -> list[str]:
    path = tree.deploy / "k8s" / "kustomization.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    listed = set(data.get("resources") or [])
    present = {p.name for p in (tree.deploy / "k8s").glob("*.yaml")} - {path.name}
    problems = [f"kustomization.yaml: lists {r}, which does not exist" for r in listed - present]
    problems += [f"kustomization.yaml: does not list {r}" for r in sorted(present - listed)]
    for image in data.get("images") or []:
        if image.get("name") == APP_IMAGE and image.get("newTag") != tree.version:
            problems.append(
                f"kustomization.yaml: sets {APP_IMAGE}:{image.get('newTag')}, not {tree.version}"
            )
    return problems


def check_operations_doc(tree: Tree) -> list[str]:
    problems: list[str] = []
    text = (tree.root / "docs" / "operations.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+\s+(\S+)", text, re.MULTILINE))
    alerts = set(ALERTS)
    rules = tree.deploy / "prometheus"
    for path in sorted(rules.rglob("*.y*ml")) if rules.is_dir() else []:
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if not isinstance(document, dict):
                continue
            # A Prometheus rule file, or the Prometheus Operator's PrometheusRule.
            groups = document.get("groups") or (document.get("spec") or {}).get("groups") or []
            for group in groups:
                alerts.update(r["alert"] for r in group.get("rules") or [] if "alert" in r)
    problems += [
        f"docs/operations.md: no runbook section (heading) for the alert {name}"
        for name in sorted(alerts - headings)
    ]
    for needed in ("traaaction reconcile", "traaaction dlq list", "traaaction events list"):
        if needed not in text:
            problems.append(f"docs/operations.md: never mentions `{needed}`")
    for command in re.findall(r"\.venv/bin/python (?:-m )?(bench[./]\w+)", text):
        module = command.replace(".", "/").removesuffix("/py")
        if not (tree.root / f"{module}.py").is_file():
            problems.append(f"docs/operations.md: the benchmark {command} does not exist")
    # This doc and the deployment files; not the alert rules and dashboards (their own
    # owners), nor an operator's deploy/.env.
    others = {tree.deploy / "prometheus", tree.deploy / "grafana"}
    files = [tree.root / "docs" / "operations.md"]
    files += [
        p
        for p in tree.deploy.rglob("*")
        if p.is_file()
        and p.name != ".env"
        and "__pycache__" not in p.parts
        and not others & set(p.parents)
    ]
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if _PLACEHOLDERS.search(line):
                problems.append(f"{path.relative_to(tree.root)}:{number}: a placeholder")
    return problems


CHECKS: dict[str, Callable[[Tree], list[str]]] = {
    "procfile": check_procfile,
    "dockerfile": check_dockerfile,
    "entrypoint": check_entrypoint,
    "compose": check_compose,
    "k8s_workloads": check_k8s_workloads,
    "k8s_shutdown": check_k8s_shutdown,
    "k8s_network": check_k8s_network,
    "k8s_policies": check_k8s_policies,
    "secrets": check_secrets,
    "env_names": check_env_names,
    "kustomization": check_kustomization,
    "operations_doc": check_operations_doc,
}
