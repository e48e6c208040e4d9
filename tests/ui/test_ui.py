"""`amber ui` and `amber report` over a real store: several envs, tags, a file:// remote store and
a recorded pipeline run. The JSON endpoints answer what the CLI's --json prints; a real
headless Chromium (Debian's chromium + chromium-driver, through selenium) loads every page
without console errors, finds the same figures, and draws the graph, timeline and treemap."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import conda_spec, run_cli, write

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

_PIPELINE = """
import amber

@amber.step(amber.Env(pypi=["six==1.17.0"]))
def prepare(n):
    import six
    return [six.__version__] * n

@amber.step(amber.Env(pypi=["six==1.17.0"]))
def explode():
    raise ValueError("the data is bad")

if __name__ == "__main__":
    for i in range(3):
        prepare(i)
    try:
        explode()
    except ValueError:
        pass
"""

_ADVISORY = {
    "id": "GHSA-test-six0-0001",
    "modified": "2024-01-01T00:00:00Z",
    "summary": "six: a test advisory",
    "affected": [
        {
            "package": {"ecosystem": "PyPI", "name": "six"},
            "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
        }
    ],
}


class World:
    """The store the dashboard shows, and the CLI over it."""

    def __init__(self, root: Path, environ: dict[str, str], osv: Path) -> None:
        self.root, self.environ, self.osv = root, environ, osv

    def cli(self, *args: object, ok: tuple[int, ...] = (0,)) -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "amber", *map(str, args)],
            env=self.environ, capture_output=True, text=True, timeout=600, cwd=self.root,
        )  # fmt: skip
        assert proc.returncode in ok, (args, proc.stdout, proc.stderr)
        return proc.stdout

    def json(self, *args: object, ok: tuple[int, ...] = (0,)) -> object:
        return json.loads(self.cli(*args, ok=ok))


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, conda_channel: Path) -> World:
    root = tmp_path_factory.mktemp("ui")
    remote = (root / "remote").as_uri()
    environ = {**os.environ, "AMBER_HOME": str(root / "home"), "AMBER_REMOTE": remote}
    osv = root / "osv"
    write(osv / "GHSA-test-six0-0001.json", json.dumps(_ADVISORY))
    w = World(root, environ, osv)
    big = conda_spec(root / "big", conda_channel, "python", "greetlib", "footool")
    small = conda_spec(root / "small", conda_channel, "python", "greetlib")
    w.cli("install", "-f", big, "-q")
    w.cli("install", "-f", small, "-q")
    ids = {e["path"]: e["full_id"] for e in w.json("env", "list", "--json")}
    assert len(ids) == 2
    big_id = w.json("env", "show", str(w.cli("install", "-f", big, "-q").strip()), "--json")
    w.big = big_id["full_id"]  # type: ignore[attr-defined]
    w.small = next(i for i in ids.values() if i != w.big)  # type: ignore[attr-defined]
    w.cli("env", "tag", w.big, "analysis:v1")  # type: ignore[attr-defined]
    w.cli("env", "tag", w.small, "analysis:v2")  # type: ignore[attr-defined]
    w.cli("push", "analysis:v1", "-q")
    write(root / "flow.py", _PIPELINE)
    subprocess.run(
        [sys.executable, str(root / "flow.py")], env=environ, cwd=root, check=True,
        capture_output=True, timeout=600,
    )  # fmt: skip
    return w


@pytest.fixture(scope="module")
def dashboard(world: World) -> Iterator[str]:
    """`amber ui --port 0` as a user starts it; its URL, read from what it prints."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "amber", "ui", "--port", "0", "--osv", str(world.osv)],
        env=world.environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert match, (line, proc.stderr.read() if proc.stderr else "")
        yield match.group(0)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _get(url: str, headers: dict[str, str] | None = None, data: bytes | None = None):
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _api(base: str, path: str) -> object:
    status, body = _get(base + "api/" + path)
    assert status == 200, (path, body)
    return json.loads(body)


def test_endpoints_answer_what_the_cli_prints(world: World, dashboard: str) -> None:
    big, small = world.big, world.small  # type: ignore[attr-defined]
    runs = world.json("runs", "list", "--json")
    assert runs and any(s["status"] != "ok" for s in runs[0]["steps"])
    step_env = runs[0]["steps"][0]["full_id"]
    pairs = {
        "envs": ("env", "list", "--json"),
        "du": ("du", "--json"),
        "tags": ("env", "tags", "--json"),
        "gc": ("gc", "--dry-run", "--json"),
        f"env/{big}": ("env", "show", big, "--json"),
        f"tree/{big}": ("tree", big, "--json"),
        f"verify/{small}": ("verify", small, "--json"),
        "runs": ("runs", "list", "--json"),
        f"run/{runs[0]['run_id']}": ("runs", "show", runs[0]["run_id"], "--json"),
        f"diff?a={small}&b={big}": ("diff", small, big, "--json"),
        "remote": ("remote", "ls", "--json"),
    }
    for endpoint, argv in pairs.items():
        assert _api(dashboard, endpoint) == world.json(*argv), endpoint
    audited = world.json("audit", step_env, "--osv", world.osv, "--format", "json", ok=(0, 1))
    assert _api(dashboard, f"audit/{step_env}") == audited
    assert any(f["rule"].startswith("vulnerability:") for f in audited["findings"])  # type: ignore[index]
    # the env page's packages: one row per package of the lock, licenses as audit finds them
    shown = world.json("env", "show", big, "--json")
    platform = next(iter(shown["platforms"]))  # type: ignore[index]
    rows = _api(dashboard, f"packages/{big}")["packages"]  # type: ignore[index]
    locked = shown["platforms"][platform]  # type: ignore[index]
    assert sorted(r["name"] for r in rows) == sorted(
        [c["name"] for c in locked.get("conda", [])] + [p["name"] for p in locked.get("pypi", [])]
    )
    greet = next(r for r in rows if r["name"] == "greetlib")
    assert greet["pulled_in_by"] and greet["source"]
    assert [r["run_id"] for r in _api(dashboard, f"env-runs/{step_env}")] == [runs[0]["run_id"]]  # type: ignore[index]


def test_the_dashboard_ships_everything_it_shows(dashboard: str) -> None:
    """No CDN, no web font, no URL anywhere but the dashboard's own."""
    for path in ("", "assets/app.js", "assets/app.css"):
        status, body = _get(dashboard + path)
        assert status == 200
        assert not re.findall(rb"https?://(?!127\.0\.0\.1)", body), path


def test_read_only_unless_allowed_and_only_for_its_own_host(world: World, dashboard: str) -> None:
    big = world.big  # type: ignore[attr-defined]
    status, body = _get(dashboard + f"api/env/{big}/rm", data=b"")
    assert status == 403 and b"--allow-writes" in body
    paths = [Path(e["path"]) for e in world.json("env", "list", "--json") if e["full_id"] == big]  # type: ignore[index]
    assert paths and paths[0].is_dir()
    port = dashboard.rsplit(":", 1)[1].rstrip("/")
    status, _ = _get(dashboard + "api/envs", headers={"Host": f"evil.example:{port}"})
    assert status == 403  # a name rebound to 127.0.0.1 does not reach the store
    status, body = _get(dashboard + "api/env/not-an-env")
    assert status == 404 and b"not-an-env" in body
    assert _get(dashboard + "api/envs/extra")[0] == 404
    assert _get(dashboard + "api/tree")[0] == 404
    status, body = _get(dashboard + "api/diff?a=/etc/passwd&b=/etc/passwd")
    assert status == 404 and b"root:" not in body  # a path is no env: nothing is read


def test_allow_writes_removes_an_env(amber_home: Path, tmp_path: Path, conda_channel: Path) -> None:
    from amber.api.session import Session
    from amber.ui.data import Dashboard
    from amber.ui.server import Server

    spec = conda_spec(tmp_path, conda_channel, "python", "greetlib")
    outcome = run_cli(["install", "-f", spec, "-q"], tmp_path, seconds=300)
    env = Path(outcome.stdout.strip())
    server = Server(Dashboard(Session.open(quiet=True)), allow_writes=True)
    server.start()
    try:
        foreign = {"Origin": "http://evil.example"}
        status, _ = _get(server.url + f"api/env/{env.name}/rm", headers=foreign, data=b"")
        assert status == 403 and env.is_dir()
        status, body = _get(server.url + f"api/env/{env.name}/rm", data=b"")
        assert status == 200, body
        assert json.loads(body)["removed"].startswith(env.name) and not env.exists()
    finally:
        server.stop()


def test_report_is_one_file_that_names_no_url(world: World) -> None:
    out = world.root / "report.html"
    world.cli("report", "analysis:v1", "-o", out, "--osv", world.osv)
    html = out.read_text()
    assert not re.findall(r"https?://", html)
    assert "Content-Security-Policy" in html and "default-src 'none'" in html
    assert "<script src=" not in html and 'rel="stylesheet"' not in html
    data = json.loads(
        re.search(r'id="amber-report" type="application/json">(.*?)</script>', html, re.S)[1]
    )  # type: ignore[index]
    assert data["full_id"] == world.big  # type: ignore[attr-defined]
    assert data["tree"] == world.json("tree", world.big, "--json")  # type: ignore[attr-defined]


def test_report_refuses_what_it_cannot_find_and_writes_nothing(
    world: World, tmp_path: Path
) -> None:
    out = tmp_path / "r.html"
    proc = subprocess.run(
        [sys.executable, "-m", "amber", "report", "no-such-env", "-o", str(out)],
        env=world.environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "no-such-env" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()
    proc = subprocess.run(
        [sys.executable, "-m", "amber", "report", world.big, "-o", str(tmp_path)],  # type: ignore[attr-defined]
        env=world.environ, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(tmp_path) in proc.stderr


# -- the browser -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium and chromedriver: apt-get install chromium chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1280,900", "--no-first-run", "--disable-extensions"):  # fmt: skip
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def _open(driver, url: str, ready: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(url)
    WebDriverWait(driver, 60).until(
        lambda d: d.execute_script("return document.body.dataset.ready") == ready
    )


def _errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]


def _shot(driver, shots: Path, name: str) -> None:
    path = shots / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"screenshot: {path}")


def test_every_page_in_a_real_browser(world: World, dashboard: str, browser, shots: Path) -> None:
    from selenium.webdriver.common.by import By

    driver = browser
    big, small = world.big, world.small  # type: ignore[attr-defined]
    du = world.json("du", "--json")
    # envs: every env, with the unique bytes `amber du` counts
    _open(driver, dashboard + "#/envs", "envs")
    rows = driver.find_elements(By.CSS_SELECTOR, "#envs tbody tr")
    assert {r.get_attribute("data-id") for r in rows} == {e["full_id"] for e in du["envs"]}  # type: ignore[index]
    for e in du["envs"]:  # type: ignore[index]
        cell = driver.find_element(
            By.CSS_SELECTOR, f'#envs tr[data-id="{e["full_id"]}"] td[data-field="unique"]'
        )
        assert int(cell.get_attribute("data-value")) == e["unique"]
    tags = driver.find_element(By.CSS_SELECTOR, f'#envs tr[data-id="{big}"] td[data-field="tags"]')
    assert "analysis:v1" in tags.text
    _shot(driver, shots, "envs")
    driver.find_element(By.ID, "envs-filter").send_keys("analysis:v2")
    assert [
        r.get_attribute("data-id") for r in driver.find_elements(By.CSS_SELECTOR, "#envs tbody tr")
    ] == [small]
    # one env: packages, the graph, activation, reproduce commands
    _open(driver, dashboard + f"#/env/{big}", f"env/{big}")
    tree = world.json("tree", big, "--json")
    names = set()

    def walk(branch: dict) -> None:
        names.add(f"{branch['kind']}:{branch['name']}")
        for child in branch["dependencies"]:
            walk(child)

    for branch in tree["dependencies"]:  # type: ignore[index]
        walk(branch)
    assert int(driver.find_element(By.ID, "graph").get_attribute("data-nodes")) == len(names)
    assert len(driver.find_elements(By.CSS_SELECTOR, "#graph g.node")) == len(names)
    driver.find_element(By.CSS_SELECTOR, '#graph g.node[data-key="conda:greetlib"]').click()
    assert "greetlib" in driver.find_element(By.ID, "detail").text
    assert "amber pack analysis:v1" in driver.find_element(By.ID, "reproduce").text
    assert len(driver.find_elements(By.CSS_SELECTOR, "#packages tbody tr")) == len(names)
    _shot(driver, shots, "env")
    # diff: the changes `amber diff --json` lists, requested apart from transitive
    changes = world.json("diff", small, big, "--json")
    _open(driver, dashboard + f"#/diff?a={small}&b={big}", f"diff?a={small}&b={big}")
    shown = driver.find_elements(
        By.CSS_SELECTOR, "#diff-requested tr[data-action], #diff-transitive tr[data-action]"
    )
    assert len(shown) == len(changes) > 0  # type: ignore[arg-type]
    _shot(driver, shots, "diff")
    # runs: the list, then one run's timeline with its failure
    runs = world.json("runs", "list", "--json")
    _open(driver, dashboard + "#/runs", "runs")
    assert len(driver.find_elements(By.CSS_SELECTOR, "#runs tbody tr")) == len(runs)  # type: ignore[arg-type]
    run = runs[0]  # type: ignore[index]
    _open(driver, dashboard + f"#/run/{run['run_id']}", f"run/{run['run_id']}")
    bars = driver.find_elements(By.CSS_SELECTOR, "#timeline rect.bar")
    assert len(bars) == len(run["steps"])
    assert (
        len(driver.find_elements(By.CSS_SELECTOR, "#timeline rect.bar.failed"))
        == sum(s["status"] != "ok" for s in run["steps"])
        > 0
    )
    bars[-1].click()
    assert run["steps"][-1]["step"] in driver.find_element(By.ID, "detail").text
    # a failure with the traceback the caller saw
    assert "ValueError: the data is bad" in driver.find_element(By.ID, "failures").text
    _shot(driver, shots, "run")
    # disk: the treemap's tiles add up to `amber du`'s total; gc's dry run per env
    _open(driver, dashboard + "#/disk", "disk")
    tiles = driver.find_elements(By.CSS_SELECTOR, "#treemap rect.tile")
    assert tiles and sum(int(t.get_attribute("data-value")) for t in tiles) == du["total"]  # type: ignore[index]
    assert "would free" in driver.find_element(By.ID, "gc-total").text
    assert len(driver.find_elements(By.CSS_SELECTOR, "#disk-envs tbody tr")) == len(du["envs"])  # type: ignore[index]
    _shot(driver, shots, "disk")
    # remote: its tags, who set them, which are local
    _open(driver, dashboard + "#/remote", "remote")
    remote = world.json("remote", "ls", "--json")
    rows = driver.find_elements(By.CSS_SELECTOR, "#remote-tags tbody tr")
    assert len(rows) == len(remote) > 0  # type: ignore[arg-type]
    assert all(t["host"] in driver.find_element(By.ID, "remote-tags").text for t in remote)  # type: ignore[union-attr]
    _shot(driver, shots, "remote")
    # nothing but the dashboard's own address was asked for, and nothing complained
    loaded = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
    )
    assert all(u.startswith(dashboard) for u in loaded), loaded
    assert _errors(driver) == []


def test_report_opens_offline(world: World, browser, shots: Path) -> None:
    out = world.root / "offline.html"
    world.cli("report", "analysis:v1", "-o", out, "--osv", world.osv)
    driver = browser
    driver.set_network_conditions(
        offline=True, latency=0, download_throughput=0, upload_throughput=0
    )
    try:
        _open(driver, out.as_uri(), "report")
        from selenium.webdriver.common.by import By

        assert driver.find_elements(By.CSS_SELECTOR, "#graph g.node")
        assert driver.find_element(By.ID, "sbom").text
        assert driver.find_elements(By.CSS_SELECTOR, "#packages tbody tr")
        assert "analysis:v1" in driver.find_element(By.ID, "env-facts").text
        _shot(driver, shots, "report")
        assert _errors(driver) == []
    finally:
        driver.delete_network_conditions()


def test_a_busy_port_is_a_clear_error(amber_home: Path, tmp_path: Path) -> None:
    import socket

    from helpers import assert_clear_error

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        outcome = run_cli(["ui", "--port", port], tmp_path)
    assert_clear_error(outcome, f"127.0.0.1:{port}")
