"""The console's image (deploy/Containerfile), built and smoke-tested: `make image-test`, not `make test`
(a few minutes: debootstrap, pip, and buildah's vfs copies). Set CONSOLE_IMAGE_TEST=1 to run it.

No image registry is reachable here, so the base image is a Debian bookworm root filesystem made with
debootstrap (the same Python 3.11 as python:3.11-slim-bookworm), and buildah builds and runs with chroot
isolation and vfs storage in a folder of the test's own; `podman run` does not work here (rlimits)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from sandbox.cluster import _die_with_parent, free_port
from tests.deploy.conftest import ROOT

pytestmark = pytest.mark.skipif(
    not os.environ.get("CONSOLE_IMAGE_TEST"), reason="builds an image for minutes: run it with `make image-test`"
)

PACKAGES = "python3,python3-venv,ca-certificates"
MIRROR = "http://deb.debian.org/debian"
# This machine reaches PyPI through a TLS proxy of its own: the base image trusts what the machine trusts,
# as an image built inside such a network must (the user's python base image needs none of this).
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "DATABASE_URL")


class Buildah:
    """buildah with vfs storage in a folder of the test module's own."""

    def __init__(self, work: Path) -> None:
        self.argv = [
            "buildah",
            "--root",
            str(work / "storage"),
            "--runroot",
            str(work / "run"),
            "--storage-driver",
            "vfs",
        ]

    def __call__(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*self.argv, *args], capture_output=True, text=True, timeout=timeout)


def _base_tarball() -> Path:
    """A bookworm root filesystem with Python 3.11 (debootstrap), as a tar; cached by its inputs."""
    key = hashlib.sha256(f"{PACKAGES} {MIRROR}".encode() + HOST_CA.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "emqx-console" / "image-base"
    tarball = cache / f"bookworm-python-{key}.tar"
    if tarball.exists():
        return tarball
    cache.mkdir(parents=True, exist_ok=True)
    rootfs = cache / f".rootfs-{key}"
    shutil.rmtree(rootfs, ignore_errors=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "bookworm", str(rootfs), MIRROR],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(rootfs / "var" / "lib" / "apt" / "lists", ignore_errors=True)
    for deb in (rootfs / "var" / "cache" / "apt" / "archives").glob("*.deb"):
        deb.unlink()
    shutil.copy(HOST_CA, rootfs / "etc" / "ssl" / "certs" / "ca-certificates.crt")
    (rootfs / "etc" / "pip.conf").write_text("[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n")
    subprocess.run(["tar", "-C", str(rootfs), "-cf", f"{tarball}.tmp", "."], check=True)
    Path(f"{tarball}.tmp").rename(tarball)
    shutil.rmtree(rootfs)
    return tarball


@pytest.fixture(scope="module")
def buildah(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Buildah]:
    """buildah with vfs storage in a folder of this module's own (removed afterwards)."""
    work = tmp_path_factory.mktemp("buildah")
    yield Buildah(work)
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="module")
def image(buildah: Buildah, tmp_path_factory: pytest.TempPathFactory) -> str:
    started = time.monotonic()
    base = tmp_path_factory.mktemp("base")
    shutil.copy(_base_tarball(), base / "rootfs.tar")
    (base / "Containerfile").write_text('FROM scratch\nADD rootfs.tar /\nCMD ["/bin/bash"]\n')
    built = buildah("bud", "--isolation", "chroot", "-t", "localhost/bookworm-python:test", str(base))
    assert built.returncode == 0, built.stderr[-3000:]
    base_done = time.monotonic()
    built = buildah(
        "bud", "--isolation", "chroot", "--build-arg", "BASE_IMAGE=localhost/bookworm-python:test",
        "-f", str(ROOT / "deploy" / "Containerfile"), "-t", "localhost/emqx-console:test", str(ROOT),
    )  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    size = buildah("images", "--format", "{{.Size}}", "localhost/emqx-console:test").stdout.strip()
    print(
        f"\nimage: localhost/emqx-console:test, {size}; base {base_done - started:.0f} s, "
        f"console image {time.monotonic() - base_done:.0f} s"
    )
    return "localhost/emqx-console:test"


@pytest.fixture(scope="module")
def container(buildah: Buildah, image: str) -> str:
    made = buildah("from", "--name", "console-smoke", image)
    assert made.returncode == 0, made.stderr
    return "console-smoke"


PRODUCTION = {
    "CONSOLE_ENV": "production",
    "DJANGO_SECRET_KEY": "an-image-test-key-" + "x7" * 30,
    "DJANGO_ALLOWED_HOSTS": "console.example.com,127.0.0.1",
}


def _env_args(env: dict[str, str]) -> list[str]:
    return [arg for k, v in env.items() for arg in ("--env", f"{k}={v}")]


def test_the_deploy_check_passes_with_production_settings(buildah: Buildah, container: str) -> None:
    checked = buildah(
        "run", "--isolation", "chroot", *_env_args(PRODUCTION), container, "--",
        "python", "manage.py", "check", "--deploy", "--fail-level", "WARNING",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_it_runs_gunicorn_as_a_user_of_its_own_with_nothing_secret_inside(buildah: Buildah, image: str) -> None:
    inspected = json.loads(buildah("inspect", "--type", "image", image).stdout)
    config = inspected["OCIv1"]["config"]
    assert config["User"] == "10001:10001"
    assert config["Entrypoint"] == ["gunicorn", "--config", "/app/deploy/gunicorn.conf.py", "console.wsgi:application"]
    assert not [e for e in config["Env"] if any(word in e.split("=")[0] for word in SECRET_WORDS)], config["Env"]
    assert "CONSOLE_ENV=production" in config["Env"]


def test_the_app_holds_only_what_runs_it(buildah: Buildah, container: str) -> None:
    listed = buildah("run", "--isolation", "chroot", container, "--", "sh", "-c", "ls -A /app; ls /app/staticfiles")
    assert listed.returncode == 0, listed.stderr
    top, _, static = listed.stdout.partition("admin\n")
    expected = {"console", "deploy", "emqx", "locale", "manage.py", "static", "staticfiles", "templates"}
    assert set(top.split()) == expected
    assert "console" in static.split()  # collected at build time
    tools = buildah("run", "--isolation", "chroot", container, "--", "sh", "-c", "ls /opt/console/bin")
    assert "pytest" not in tools.stdout and "pip" not in tools.stdout.split()  # the runtime requirements only


def test_gunicorn_serves_the_application(buildah: Buildah, image: str, container: str, tmp_path: Path) -> None:
    entrypoint = json.loads(buildah("inspect", "--type", "image", image).stdout)["OCIv1"]["config"]["Entrypoint"]
    port = free_port()
    env = {**PRODUCTION, "PORT": str(port), "CONSOLE_SQLITE_PATH": "/tmp/db.sqlite3"}
    log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - the server writes to it until it stops
    server = subprocess.Popen(
        [*buildah.argv, "run", "--isolation", "chroot", *_env_args(env), container, "--", *entrypoint],
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent,  # in a session of its own too, stopped whole below
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(f"{base}/healthz", timeout=5)
                break
            except requests.RequestException:
                assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
                assert time.monotonic() < deadline, "gunicorn did not answer"
                time.sleep(0.5)
        assert (health.status_code, health.text) == (200, "ok\n")
        proxied = {"Host": "console.example.com", "X-Forwarded-Proto": "https"}  # as the ingress asks
        css = requests.get(f"{base}/static/console/console.css", headers=proxied, timeout=5, allow_redirects=False)
        assert css.status_code == 200 and css.headers["Content-Type"].startswith("text/css")  # collected, served
        login = requests.get(f"{base}/login/", headers=proxied, timeout=10, allow_redirects=False)
        assert login.status_code == 200 and 'name="password"' in login.text
        # The translations were compiled at build time (locale/*.mo is never committed).
        in_chinese = {**proxied, "Accept-Language": "zh-CN,zh;q=0.9"}
        chinese = requests.get(f"{base}/login/", headers=in_chinese, timeout=10, allow_redirects=False)
        assert '<html lang="zh-hans">' in chinese.text and "<h1>登录</h1>" in chinese.text, chinese.text[:2000]
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
        log.close()
