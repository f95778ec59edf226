"""The lineage UI in a real browser.

`make ui` is started the way an operator starts it, from an environment whose PATH holds only
the system folders (not the virtual environment), against a site whose Dagster instance holds a
finished run of every asset and check on the small default (the shared warehouse's run).
Debian's Chromium, headless and driven by Playwright, then checks what a reviewer auditing a published S003 table relies on: the table in
the asset graph with the raw sources upstream of it, its metadata preview rendered as a table,
and the result of a blocking check. Screenshots go to the test's folder, and to UI_SCREENSHOTS
when set (the README shows the ones in docs/).
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from ops_support import PROJECT, free_port, group_ends

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Headless, as root, on a machine whose only network is loopback.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
UI_START_SECONDS = 300

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason="Chromium is not installed, so the lineage UI cannot be opened in a browser here "
           "(install Debian's chromium: apt-get install -y chromium; .ci/run does)")


def stop_group(proc: subprocess.Popen) -> None:
    """Stop `make ui` and everything it started: Ctrl-C first, as in a terminal."""
    for sig, wait in ((signal.SIGINT, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def as_a_shell_starts_a_background_job() -> None:
    """The signal state a shell gives `make ui &`: SIGINT ignored, every other signal at its
    default and none blocked, whatever the test process's own state (a library in it may have
    left SIGTERM blocked or ignored, which make and its children would inherit)."""
    stop_signals = {signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals | {signal.SIGINT})
    for sig in stop_signals:
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.fixture(scope="module")
def ui(refresh_site, tmp_path_factory):
    """`make ui` serving the site on loopback, started as a script's `make ui &` starts it
    (SIGINT ignored): its URL, its log and its process."""
    home = tmp_path_factory.mktemp("ui_home")
    port = free_port()
    env = {k: v for k, v in refresh_site.env().items()
           if k in ("DAGSTER_HOME", "WAREHOUSE_PATH", "RAW_DATA_DIR", "PUBLISH_DIR",
                    "GX_ANALYTICS_ENABLED", "TQDM_DISABLE", "LANG")}
    env.update(PATH="/usr/bin:/bin", HOME=str(home), UI_PORT=str(port))
    log = home / "ui.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["make", "-s", "-C", str(PROJECT), "ui"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=as_a_shell_starts_a_background_job)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + UI_START_SECONDS
        while True:
            assert proc.poll() is None, "make ui exited:\n" + log.read_text()[-3000:]
            try:
                with urllib.request.urlopen(url + "/server_info", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, \
                    "no UI after 5 minutes:\n" + log.read_text()[-3000:]
                time.sleep(1)
        yield url, log, proc
    finally:
        stop_group(proc)


@pytest.fixture(scope="module")
def page(ui, refresh_site):
    from playwright.sync_api import sync_playwright

    url, *_ = ui
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1050})
        page.set_default_timeout(120_000)  # the code location loads the dbt project first
        page.goto(url)
        # A new instance greets its first visitor with an invitation (until Dagster records,
        # in DAGSTER_HOME/.nux, that it was seen); a reviewer skips it.
        if not (refresh_site.home / ".nux" / "nux.yaml").exists():
            page.get_by_role("button", name="Skip").click()
            page.get_by_role("button", name="Skip").wait_for(state="hidden")
        yield page
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> list[Path]:
    folders = [tmp_path_factory.mktemp("screenshots")]
    if os.environ.get("UI_SCREENSHOTS"):
        folders.append(Path(os.environ["UI_SCREENSHOTS"]))
    return folders


def screenshot(page, shots: list[Path], name: str) -> None:
    for folder in shots:
        folder.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(folder / f"{name}.png"))


def test_the_code_location_loads_with_nothing_on_path(page, ui):
    url, log, _ = ui
    page.goto(url + "/locations")
    page.get_by_text("dagster_project.definitions").first.wait_for()
    said = log.read_text()
    assert "was not found on PATH" not in said
    # The instance settings in DAGSTER_HOME are the ones meant: no warning about the project's.
    assert "will not be used" not in said and "superseded" not in said


def test_the_graph_shows_a_published_s003_table_and_its_raw_sources(page, ui, shots):
    url, *_ = ui
    page.goto(url + "/assets/results/s003_baseline?view=lineage&lineageScope=upstream"
                    "&lineageDepth=20")
    nodes = page.locator('[class*="AssetNode_assetName"]')
    nodes.filter(has_text="ceads_intermediate").first.wait_for()
    names = nodes.all_inner_texts()
    assert "s003_baseline" in names and "city_pair_period" in names and "transfer" in names
    # raw tables of the sources S003 reads, and the landing files they load
    assert {"ceads_intermediate", "baidu_index", "hsr_line_stage", "city_yearbook"} <= set(names)
    assert names.count("city_yearbook") == 2 and names.count("baidu_index") == 2
    for group in ("landing", "raw", "io", "s003"):
        assert page.get_by_text(group, exact=True).count() >= 1, group
    screenshot(page, shots, "ui_lineage")


def test_the_tables_metadata_preview_renders(page, ui, shots):
    url, *_ = ui
    page.goto(url + "/assets/results/s003_baseline")
    page.get_by_text("[Show Markdown]").first.click()
    dialog = page.get_by_role("dialog")
    table = dialog.locator("table")
    table.first.wait_for()
    text = table.first.inner_text()
    assert "connectivity_HSR" in text and "IT_direction" in text
    assert "***" in text  # significance stars of the paper-style table
    screenshot(page, shots, "ui_preview")
    page.keyboard.press("Escape")


def test_a_blocking_checks_result_is_visible(page, ui, shots):
    url, *_ = ui
    page.goto(url + "/assets/marts/city_pair_period?view=checks")
    page.get_by_text("gx_city_pair_period_integrity", exact=True).first.click()
    page.get_by_text("This is a").first.wait_for()
    body = page.inner_text("body")
    assert "blocking asset check" in body.replace("\n", " ")
    assert "Great Expectations integrity suite of expectations/city_pair_period.yml" in body
    assert "Passed" in body
    screenshot(page, shots, "ui_check")


def test_make_ui_in_the_background_stops_on_kill(ui):
    """`kill <make's pid>` (SIGTERM, to make alone) stops make, the webserver and the daemon
    (this test comes last: it ends the module's UI)."""
    url, log, proc = ui
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=120)
    except subprocess.TimeoutExpired:
        # where it hangs: each process of the group, its state and what it waits in
        tree = subprocess.run(["ps", "-o", "pid,ppid,stat,wchan:24,args", "-g", str(proc.pid)],
                              capture_output=True, text=True).stdout
        masks = [line for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                 if line.startswith(("SigPnd", "ShdPnd", "SigBlk", "SigIgn", "SigCgt"))]
        raise AssertionError(f"make ui still runs 120 s after SIGTERM:\n{tree}\n"
                             f"make's signals: {masks}\n" + log.read_text()[-3000:]) from None
    assert group_ends(proc.pid, 60), log.read_text()[-3000:]
    assert "SIGTERM: stopping the Dagster webserver and daemon" in log.read_text()
