"""The page's script logic, in-process with Streamlit's AppTest.

A running run's page stays in ``LiveView.follow``'s loop until the run stops,
and AppTest waits for a script run to end, so these tests use Step, short runs,
or reruns after the run has ended; live refresh is the browser test's job.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import replay
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "page.py")

pytestmark = pytest.mark.process


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


@pytest.fixture(scope="module", autouse=True)
def warm_server():
    """The server as a learner finds it once it has been up a while: its training processes
    started. The fork server imports torch at the lowest priority, and this busy test process,
    on a new virtual environment, can starve that import for a minute (a Step then got no answer
    within its 10 s). The device check used to wait for it; a CPU-only torch needs none now."""
    from playground.ui.shared import shared

    assert shared().prepared.wait(timeout=300)


@pytest.fixture
def at():
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.exception
    yield app
    client = app.session_state["client"] if "client" in app.session_state else None
    if client is not None:
        client.close()


def wait_for(at, condition, timeout=60.0):
    """Rerun the page (each rerun polls the worker) until ``condition(at)`` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if condition(at):
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out; metrics {metrics(at)}, errors {texts(at.error)}")


def test_page_opens_with_the_tutorials_first_cell(at):
    assert at.title[0].value == "Backprop Playground"
    assert at.selectbox(key="style").value == "numpy"
    assert at.session_state["lr"] == 1e-6
    assert metrics(at)["Step"] == "0"
    code = at.code[0].value
    assert "grad_w1 = x.T.dot(grad_h)" in code  # the code panel shows the code that runs
    labels = {w.label for w in at.sidebar.number_input}
    assert {
        "Batch size (N)",
        "Input size (D_in)",
        "Hidden size (H)",
        "Output size (D_out)",
        "Steps",
        "Seed",
    } <= labels


def test_controls_that_do_not_apply_are_disabled_with_a_reason(at):
    assert at.selectbox(key="optimizer").disabled
    assert at.selectbox(key="device").disabled
    assert at.number_input(key="min_depth").disabled and at.number_input(key="max_depth").disabled
    captions = texts(at.sidebar.caption)
    assert "updates its weights by hand" in captions
    assert "NumPy runs on the CPU only" in captions
    assert "only DynamicNet draws a depth" in captions
    at.selectbox(key="style").select("dynamic").run()
    assert not at.selectbox(key="optimizer").disabled
    assert not at.number_input(key="min_depth").disabled
    assert not at.slider(key="momentum").disabled  # momentum optimizer is dynamic's default
    at.selectbox(key="optimizer").select("adam").run()
    assert at.slider(key="momentum").disabled


def test_device_choices_are_the_devices_that_exist(at):
    import torch

    from playground.ui.shared import shared

    assert shared().devices_known.wait(timeout=120)  # at once, or when a worker process has answered
    at.selectbox(key="style").select("tensor").run()
    options = at.selectbox(key="device").options
    assert options[0] == "cpu"
    if not torch.cuda.is_available():
        assert options == ["cpu"]
        assert "CUDA is absent" in texts(at.sidebar.caption)


def test_a_cpu_only_torch_needs_no_device_check(monkeypatch):
    """A CPU-only build of torch (this project's, on Linux): the devices are known when the server
    starts, so the first page never says "Looking for GPUs…" nor reruns itself when a check
    answers. A build that may have a GPU asks a worker process, once."""
    from playground.config import Limits
    from playground.devices import CPU_ONLY
    from playground.server.pool import Pool
    from playground.ui import shared as server

    monkeypatch.setattr(server, "warm_up", lambda: None)  # no processes for this test
    monkeypatch.setattr(Pool, "start", lambda self: None)
    asked = []
    monkeypatch.setattr(server, "probe_devices", lambda: asked.append(1) or (["cpu"], "a worker said so"))
    monkeypatch.setattr(server, "known_without_torch", lambda: (["cpu"], CPU_ONLY))
    cpu_only = server.Shared(Limits())
    assert cpu_only.devices_known.is_set() and cpu_only.devices == (["cpu"], CPU_ONLY)
    monkeypatch.setattr(server, "known_without_torch", lambda: None)
    maybe_gpu = server.Shared(Limits())
    assert maybe_gpu.devices_known.wait(timeout=10) and maybe_gpu.devices == (["cpu"], "a worker said so")
    assert asked == [1]  # by the second server alone
    for s in (cpu_only, maybe_gpu):
        s.pool.close()


def test_a_pages_first_chart_waits_a_second_and_for_a_run_about_to_end():
    from playground.ui.live import FIRST_SLOW_S, first_chart_waits

    due = 100.0  # a second into the run
    assert first_chart_waits(due - 0.5, due, steps_left=10_000, steps_per_s=1000)  # the first second
    assert not first_chart_waits(due, due, steps_left=10_000, steps_per_s=1000)  # a long run: now
    assert first_chart_waits(due + 0.2, due, steps_left=300, steps_per_s=1000)  # ends in 0.3 s: after it
    assert not first_chart_waits(due + FIRST_SLOW_S, due, steps_left=300, steps_per_s=1000)  # but not longer
    assert not first_chart_waits(due, due, steps_left=300, steps_per_s=0)  # no pace yet (in line, paused)
    assert not first_chart_waits(due - 0.5, 0.0, steps_left=300, steps_per_s=1000)  # a page that has charts


def test_style_switch_loads_the_tutorial_defaults(at):
    at.selectbox(key="style").select("optim").run()
    assert at.session_state["lr"] == 1e-4
    assert at.session_state["optimizer"] == "adam"
    assert at.session_state["dtype"] == "float32"
    assert "torch.optim" in texts(at.markdown)
    assert "optimizer.step()" in at.code[0].value
    at.selectbox(key="style").select("dynamic").run()
    assert at.session_state["optimizer"] == "momentum"
    assert at.session_state["momentum"] == pytest.approx(0.9)
    assert "class DynamicNet" in at.code[0].value


def test_step_and_reset(at):
    at.button(key="step_button").click().run()
    first = metrics(at)
    assert first["Step"] == "1"
    assert float(first["Loss"]) > 0
    at.button(key="step_button").click().run()
    assert metrics(at)["Step"] == "2"
    at.button(key="reset_button").click().run()
    assert metrics(at)["Step"] == "0"
    assert metrics(at)["Loss"] == "–"
    assert "reset" in texts(at.info)


def test_step_matches_the_engine(at):
    from playground.config import Config
    from playground.trainer import Trainer

    at.selectbox(key="style").select("module").run()
    for _ in range(3):
        at.button(key="step_button").click().run()
    trainer = Trainer(Config.for_style("module"))
    rows = [trainer.step() for _ in range(3)]
    assert metrics(at)["Loss"] == f"{rows[-1]['loss']:.4g}"


def test_structural_change_ends_the_run_says_so_and_keeps_its_charts(at):
    at.button(key="step_button").click().run()
    assert metrics(at)["Step"] == "1"
    at.number_input(key="hidden").set_value(50).run()
    assert at.session_state["client"] is None
    assert metrics(at)["Step"] == "1"  # the ended run stays on show
    assert "You changed hidden: the run ended at step 1. Its charts stay until Train starts a new one." in texts(
        at.info
    )
    assert "The run shown ended at step 1" in texts(at.info)
    assert at.get("download_button")  # and it can still be downloaded
    at.button(key="step_button").click().run()
    assert metrics(at)["Step"] == "1" and at.session_state["client"].view.config.hidden == 50
    assert "The run shown ended" not in texts(at.info)


def test_a_style_change_names_the_style_alone(at):
    at.button(key="step_button").click().run()
    at.selectbox(key="style").select("optim").run()  # loads optim's rate, optimizer and dtype too
    assert "You changed style: the run ended at step 1." in texts(at.info)


def test_steps_below_the_run_say_it_is_finished_and_train_says_it_starts_anew(at):
    for _ in range(3):
        at.button(key="step_button").click().run()
    at.number_input(key="steps").set_value(2).run()
    assert "Steps is now 2, and the run has taken 3: it is finished." in texts(at.info)
    at.button(key="step_button").click().run()
    assert "A new run, from step 0: the last one ended at step 3." in texts(at.info)
    assert metrics(at)["Step"] == "1"


def test_learning_rate_change_keeps_the_run(at):
    at.button(key="step_button").click().run()
    at.select_slider(key="lr").set_value(2e-6).run()
    at.button(key="step_button").click().run()
    assert metrics(at)["Step"] == "2"
    assert at.session_state["client"].view.state.learning_rate == 2e-6


def test_train_runs_to_the_end(at):
    at.number_input(key="steps").set_value(300).run()
    at.button(key="train_button").click().run()
    wait_for(at, lambda a: "Finished 300 steps" in texts(a.success))
    assert metrics(at)["Step"] == "300"
    assert not at.exception


def test_a_diverging_run_says_where_and_what_to_try(at):
    at.selectbox(key="style").select("module").run()
    at.select_slider(key="lr").set_value(1.0).run()
    at.button(key="train_button").click().run()
    wait_for(at, lambda a: len(a.error) > 0)
    message = texts(at.error)
    assert "diverged" in message and "at step" in message and "learning rate" in message
    assert not at.exception
    # the app stays usable: a smaller rate and Train start a fresh run
    at.select_slider(key="lr").set_value(1e-4).run()
    at.button(key="step_button").click().run()
    assert metrics(at)["Step"] == "1"


def test_settings_over_the_memory_limit_get_a_message_and_block_training(at):
    at.number_input(key="d_in").set_value(10000).run()
    at.number_input(key="hidden").set_value(4096).run()
    assert "size:" in texts(at.error) and "PLAYGROUND_MAX_RUN_MB" in texts(at.error)
    assert at.button(key="train_button").disabled and at.button(key="step_button").disabled
    assert not at.exception


def test_settings_that_break_a_rule_are_repaired_with_a_note(at):
    at.selectbox(key="style").select("dynamic").run()
    at.number_input(key="max_depth").set_value(2).run()
    at.number_input(key="min_depth").set_value(5).run()
    assert at.session_state["min_depth"] == 2 and at.session_state["max_depth"] == 2
    assert "min_depth: 5 is more than max_depth 2" in texts(at.info)
    at.selectbox(key="optimizer").select("nesterov").run()
    at.slider(key="momentum").set_value(0.0).run()
    assert at.session_state["momentum"] == 0.9 and "momentum:" in texts(at.info)
    assert not at.button(key="train_button").disabled
    assert not at.exception


def test_over_the_cap_a_visitor_waits_in_line_and_starts_by_itself(monkeypatch):
    """A server that trains one run at a time, and a real run training: Train waits in line
    (never a refusal), and the run starts by itself when the other one stops."""
    import threading

    from playground.config import Config
    from playground.server.protocol import Command
    from playground.ui import shared

    monkeypatch.setenv("PLAYGROUND_MAX_CONCURRENT_RUNS", "1")
    shared.shared.clear()
    pool = shared.shared().pool
    other = pool.open(Config.for_style("module", steps=1_000_000))
    seen = {}
    try:
        other.request(Command.TRAIN)
        assert pool.training() == 1
        app = AppTest.from_file(APP, default_timeout=90)
        app.query_params.update({"style": "tensor", "steps": "50"})
        app.run()

        def the_other_visitor_pauses() -> None:
            deadline = time.monotonic() + 30
            while pool.waiting() == 0 and time.monotonic() < deadline:
                time.sleep(0.05)
            run = next(iter(r for r in pool.runs.values() if r is not other.run))
            seen["place"] = pool.place(run)
            time.sleep(1.0)
            other.request(Command.PAUSE)

        pauser = threading.Thread(target=the_other_visitor_pauses)
        pauser.start()
        app.button(key="train_button").click().run()  # returns when the run has finished
        pauser.join()
        assert seen["place"].position == 1 and seen["place"].length == 1
        assert "Finished 50 steps" in texts(app.success)
        assert metrics(app)["Step"] == "50"
        assert not app.exception
        app.session_state["client"].close()
    finally:
        other.close()
        shared.shared.clear()


def test_a_shared_link_opens_its_setup():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"style": "optim", "lr": "0.003", "hidden": "50", "seed": "7", "steps": "200"})
    app.run()
    assert not app.exception
    ss = app.session_state
    assert (ss["style"], ss["lr"], ss["hidden"], ss["seed"], ss["steps"]) == ("optim", 0.003, 50, 7, 200)
    assert ss["optimizer"] == "adam"  # not in the link: the style's tutorial default
    assert not app.warning


def test_a_link_carries_the_speed_and_the_page_writes_it_back():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"speed": "7"})
    app.run()
    assert (app.session_state["speed_mode"], app.session_state["speed_cap"]) == ("Slow motion", 7)
    assert app.query_params["speed"] in ("7", ["7"]) and not app.warning
    app.radio(key="speed_mode").set_value("As fast as possible").run()
    assert "speed" not in app.query_params  # the default for random data: left out of the link
    for bad in ("999", "quick"):
        app = AppTest.from_file(APP, default_timeout=60)
        app.query_params.update({"data": "sin", "speed": bad})
        app.run()
        assert (app.session_state["speed_mode"], app.session_state["speed_cap"]) == ("Slow motion", 50)
        assert (
            f"From the link: speed: '{bad}' is not fast or a whole number of steps a second from 1 to 200; using 50."
            in texts(app.warning)
        )


def test_a_hostile_link_gets_warnings_and_a_working_page():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"style": "nope", "lr": "nan", "n": "-5", "steps": "1e99", "device": "cuda:9"})
    app.run()
    assert not app.exception
    warnings = texts(app.warning)
    for field in ("style", "lr", "n", "steps", "device"):
        assert f"{field}:" in warnings
    app.button(key="step_button").click().run()
    assert metrics(app)["Step"] == "1"
    app.session_state["client"].close()


def test_the_url_follows_the_settings(at):
    at.selectbox(key="style").select("module").run()
    at.number_input(key="hidden").set_value(42).run()
    from playground.links import from_query

    cfg, warnings = from_query({k: v for k, v in at.query_params.items()}, ["cpu"])
    assert (cfg.style, cfg.hidden, cfg.lr) == ("module", 42, 1e-4) and not warnings


def test_lecture_mode_from_a_link_hides_chosen_controls_and_shows_the_cells():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"style": "module", "lecture": "1", "hide": "n,d_in,seed,bogus"})
    app.run()
    assert not app.exception
    labels = {w.label for w in app.sidebar.number_input}
    assert "Batch size (N)" not in labels and "Seed" not in labels and "Hidden size (H)" in labels
    assert app.session_state["n"] == 64  # hidden, not lost
    assert "hide: 'bogus'" in texts(app.warning)
    assert "Notice:" in texts(app.markdown)
    app.pills(key="cell").set_value("optim").run()
    assert app.session_state["style"] == "optim" and app.session_state["optimizer"] == "adam"
    assert "Adam at the same learning rate" in texts(app.markdown)
    assert app.query_params["lecture"] == ["1"] or app.query_params["lecture"] == "1"


def test_a_control_lecture_mode_hides_keeps_its_value_and_shows_it_again(at):
    at.number_input(key="hidden").set_value(42).run()
    at.toggle(key="lecture").set_value(True).run()
    at.multiselect(key="hide").select("hidden").run()
    for _ in range(3):  # runs without the control drawn
        at.run()
        assert "hidden" not in [w.key for w in at.sidebar.number_input]
    assert at.session_state["hidden"] == 42
    at.multiselect(key="hide").unselect("hidden").run()
    assert at.number_input(key="hidden").value == 42 and not at.exception


def compare(app, preset: str) -> None:
    """Run a Compare preset on ``app`` to its end, rerunning the page as a browser's ticks would."""
    app.radio(key="cmp_preset").set_value(preset).run()
    app.button(key="cmp_run").click().run()
    deadline = time.monotonic() + 120
    while app.session_state["cmp"]["running"] and time.monotonic() < deadline:
        time.sleep(0.2)
        app.run()


def test_compare_runs_agree_with_single_runs():
    from playground.compare import preset
    from playground.trainer import Trainer

    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"steps": "60"})
    app.run()
    compare(app, "lr")
    state = app.session_state["cmp"]
    assert len(state["views"]) == 5 and not app.exception
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the workers train (and the CLI): the same float32 rounding
    try:
        locals_ = []
        for _, cfg in preset("lr", seed=0, steps=60):
            locals_.append(Trainer(cfg))
            locals_[-1].run()
    finally:
        torch.set_num_threads(threads)
    for (label, _), view, local in zip(preset("lr", seed=0, steps=60), state["views"], locals_, strict=True):
        assert view.state.steps_done == local.steps_done, label
        assert view.state.last["loss"] == local.last["loss"], label
    table = app.dataframe[0].value
    assert list(table["run"]) == [label for label, _ in preset("lr")]


def test_look_inside_one_step_shows_the_engines_numbers(at):
    import numpy as np

    from playground.config import Config
    from playground.trainer import Trainer

    at.selectbox(key="style").select("tensor").run()
    at.select_slider(key="lr")  # present
    at.button(key="inspect_button").click().run()
    tables = {tuple(t.value.columns)[0]: t.value for t in at.table}
    table = tables["value"]
    names = list(table["value"])
    assert names[:4] == ["h", "h_relu", "y_pred", "loss"] and "grad_w1" in names
    trainer = Trainer(Config.for_style("tensor"))
    row = trainer.step()
    loss_cell = table["first numbers"][names.index("loss")]
    assert float(loss_cell) == pytest.approx(row["loss"], rel=1e-3)  # shown with 4 significant digits
    assert any("x.mm(w1)" in made for made in table["made by"])
    assert metrics(at)["Step"] == "1"
    assert np.isfinite(float(table["norm"][names.index("grad_w1")]))
    # The header counts as the Step metric does; the walk starts at the forward pass's first node.
    shown = texts(at.markdown)
    assert "**Step 1** of the run (the tutorial's `t = 0`)" in shown
    assert "**Forward pass, 1 of 8: `x`**" in shown
    at.button(key="walk_backward").click().run()
    assert "**Backward pass, 1 of 5: `grad_y_pred`**" in texts(at.markdown)
    # The same step, two ways: tensor against autograd, float32 here: at rounding.
    twin = {tuple(t.value.columns)[0]: t.value for t in at.table}["weight (tensor)"]
    assert list(twin["weight (tensor)"]) == ["w1", "w2"]
    assert all(float(r) < 1e-5 for r in twin["relative"])


@pytest.fixture
def media(monkeypatch) -> dict[str, bytes]:
    """Every file the page hands Streamlit's media store, by file id (the id in a button's URL)."""
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stored: dict[str, bytes] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def load_and_get_id(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        stored[file_id] = path_or_data
        return file_id

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", load_and_get_id)
    return stored


def test_downloads_replay_from_the_cli_after_a_live_change(at, media, tmp_path):
    import csv
    import io
    import json

    def _downloaded(button) -> bytes:
        return media[button.proto.url.rsplit("/", 1)[-1].split(".")[0]]

    at.selectbox(key="style").select("module").run()
    at.number_input(key="steps").set_value(60).run()
    for _ in range(20):
        at.button(key="step_button").click().run()
    at.select_slider(key="lr").set_value(2e-4).run()  # a live change at step 20
    at.button(key="train_button").click().run()
    wait_for(at, lambda a: "Finished 60 steps" in texts(a.success))
    view = at.session_state["client"].view
    buttons = {b.proto.label: b for b in at.get("download_button")}
    assert set(buttons) == {"Download CSV", "Download JSON"}
    run = json.loads(_downloaded(buttons["Download JSON"]))
    assert run["config"]["lr"] == 1e-4 and run["changes"] == [{"step": 20, "setting": "lr", "value": 2e-4}]
    assert run["config"]["threads"] >= 1  # the count the run trained on: the replay uses it too
    path = tmp_path / "run.json"
    path.write_text(json.dumps(run))
    replayed = [row["loss"] for row in replay(path)]
    assert replayed == list(view.history["loss"])
    rows = list(csv.DictReader(io.StringIO(_downloaded(buttons["Download CSV"]).decode())))
    assert [float(r["loss"]) for r in rows] == replayed
    assert {float(r["lr"]) for r in rows[:20]} == {1e-4} and {float(r["lr"]) for r in rows[20:]} == {2e-4}


def test_a_bad_server_setting_is_a_warning_not_a_crash(monkeypatch):
    from playground.ui import shared

    monkeypatch.setenv("PLAYGROUND_MAX_CONCURRENT_RUNS", "many")
    shared.shared.clear()
    try:
        app = AppTest.from_file(APP, default_timeout=60).run()
        assert not app.exception
        assert "PLAYGROUND_MAX_CONCURRENT_RUNS" in texts(app.warning)
        from playground.config import Limits

        assert shared.shared().limits == Limits()  # the defaults
    finally:
        shared.shared.clear()


# --- curves, the diff, the histogram kinds, the keys ----------------------------------------


def chart_titles(at) -> list[str]:
    import json

    return [json.loads(chart.proto.spec)["layout"]["title"]["text"] for chart in at.get("plotly_chart")]


def test_a_curve_link_shows_its_points_then_the_fit_and_says_why_sizes_are_off():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"data": "sin", "style": "module"})
    app.run()
    assert not app.exception and not app.warning
    assert app.number_input(key="d_in").disabled and app.number_input(key="d_out").disabled
    assert not app.number_input(key="n").disabled and not app.number_input(key="hidden").disabled
    captions = texts(app.sidebar.caption)
    assert "data `sin` has one input, x." in captions and "data `sin` has one output, y." in captions
    assert app.session_state["speed_mode"] == "Slow motion"  # a curve trains in a blink otherwise
    assert chart_titles(app) == ["Fit of y = sin(x)"]  # the points and the curve, before any step
    app.button(key="step_button").click().run()
    assert chart_titles(app)[:2] == ["Loss (summed squared error)", "Fit of y = sin(x) after 1 step"]
    assert "Each hidden unit adds one kink to the line" in texts(app.caption)
    app.session_state["client"].close()


def test_choosing_data_loads_its_sizes_and_rate(at):
    from playground.config import CURVE_LR

    at.selectbox(key="style").select("optim").run()
    at.selectbox(key="data").select("abs").run()
    ss = at.session_state
    assert (ss["d_in"], ss["d_out"], ss["n"], ss["lr"]) == (1, 1, 64, CURVE_LR["abs"]["optim"])
    assert "Loaded the defaults for data abs" in texts(at.info)
    at.selectbox(key="style").select("dynamic").run()  # a style keeps the curve, with its rate for it
    assert (ss["data"], ss["lr"]) == ("abs", CURVE_LR["abs"]["dynamic"])
    at.selectbox(key="data").select("random").run()
    assert (ss["d_in"], ss["d_out"], ss["lr"], ss["speed_mode"]) == (1000, 10, 1e-4, "As fast as possible")
    assert at.query_params["data"] in ("random", ["random"])  # the link follows


def test_the_histogram_shows_the_kind_chosen(at):
    at.number_input(key="steps").set_value(21).run()
    at.button(key="step_button").click().run()
    at.selectbox(key="hist_kind").select("activations").run()
    at.button(key="train_button").click().run()
    wait_for(at, lambda a: "Finished 21 steps" in texts(a.success))
    histograms = at.session_state["client"].view.histograms
    assert list(histograms["step"]) == [0, 20]
    after = histograms["hist.activations.hidden after ReLU"]
    assert after[0].sum() == 0 and after[1].sum() + histograms["zeros.activations.hidden after ReLU"][1] == 64 * 100
    titles = chart_titles(at)
    assert "Hidden-layer activation histogram (latest)" in titles
    assert "Hidden-layer activation distribution over time: hidden before ReLU" in titles
    assert "spike at 0" in texts(at.caption)


def test_the_run_buttons_have_keys_and_lecture_mode_lists_them():
    from playground.ui.keys import RUN

    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"style": "tensor", "lecture": "1"})
    app.run()
    for name in ("train", "pause", "step", "reset"):
        assert app.button(key=f"{name}_button").proto.shortcut == RUN[name].lower()
    assert "Keys: **T** Train / Pause, **S** one Step, **X** Reset." in texts(app.caption)
    # Lecture mode shows what changed from the previous cell.
    assert app.toggle(key="show_diff").value
    assert "`tensor_backprop.py` against `numpy_backprop.py`" in texts(app.caption)
    assert 'class="ln added"' in "".join(h.proto.body for h in app.get("html"))
    assert not app.code or "def step" not in app.code[0].value


def test_the_diff_toggle_and_the_first_cell(at):
    assert not at.toggle(key="show_diff").value and at.toggle(key="show_diff").disabled  # numpy: nothing before
    assert "It is the first cell" in texts(at.caption)
    at.selectbox(key="style").select("nn").run()
    at.toggle(key="show_diff").set_value(True).run()
    assert "`nn_sequential.py` against `function.py`" in texts(at.caption)
    at.toggle(key="show_diff").set_value(False).run()
    assert "torch.nn.Sequential(" in at.code[0].value


def test_compare_carries_the_data_and_offers_cpu_vs_gpu_only_with_a_gpu(at):
    import torch

    from playground.compare import preset, presets
    from playground.ui.compare_view import table
    from playground.ui.shared import shared

    assert shared().devices_known.wait(timeout=120)
    at.run()
    offered = at.radio(key="cmp_preset").options
    assert ("CPU vs GPU" in offered) == torch.cuda.is_available()
    assert presets(["cpu"]) == ["tutorial", "optimizers", "lr", "mistakes"] and presets(["cpu", "cuda"])[-1] == "gpu"
    runs = preset("tutorial", data="step")
    rows = table(runs, [])
    assert set(rows["data"]) == {"step"} and rows["style"] == [style for style, _ in runs]


def pushed(app) -> list[str]:
    """The keys of the enabled widgets whose value this script run sends to the browser
    (``set_value`` in Streamlit's protocol): the browser replaces what the learner has there, even
    an edit in flight. (Streamlit resends a disabled widget's value every run; no one edits it.)"""

    def walk(node):
        for child in getattr(node, "children", {}).values():
            yield child
            yield from walk(child)

    nodes = (node for block in (app.sidebar, app.main) for node in walk(block))
    protos = ((node.key, getattr(node, "proto", None)) for node in nodes)
    return [key for key, proto in protos if getattr(proto, "set_value", False) and not proto.disabled]


def test_a_rerun_sends_the_browser_only_the_values_the_script_changed(at):
    """A rerun that changes no setting must not push the settings back: the browser would replace a
    learner's edit in flight (keys pressed on a slider while a rerun was under way were lost)."""
    at.run()
    assert pushed(at) == []
    at.selectbox(key="style").select("optim").run()  # loads the style's defaults: those are pushed
    assert {"lr", "optimizer"} <= set(pushed(at)) and "speed_cap" not in pushed(at)
    at.run()
    assert pushed(at) == []


def test_the_sidebar_offers_a_styles_own_mistakes_and_repairs_one_that_does_not_apply(at):
    mistake = at.selectbox(key="mistake")
    assert mistake.options == [
        "none: the correct cell",
        "no_relu_mask: The ReLU's mask forgotten in the backward pass",
        "wrong_sign: The update climbs the loss (+ instead of −)",
    ]
    mistake.select("no_relu_mask").run()
    assert not at.exception
    assert "A classic mistake: The ReLU's mask forgotten" in texts(at.error)
    at.selectbox(key="style").select("module").run()  # module has no such mistake
    assert at.session_state["mistake"] == "none"
    assert "mistake: 'no_relu_mask' does not apply to style 'module'" in texts(at.info)
    assert at.selectbox(key="mistake").options == ["none: the correct cell", "no_zero_grad: zero_grad() forgotten"]


def test_looking_inside_a_finished_run_takes_its_next_step():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"steps": "30"})
    app.run()
    app.button(key="train_button").click().run()
    wait_for(app, lambda a: "Finished 30 steps" in texts(a.success))
    app.button(key="inspect_button").click().run()
    wait_for(app, lambda a: metrics(a)["Step"] == "31")
    assert "**Step 31** of the run (the tutorial's `t = 30`)" in texts(app.markdown) and not app.exception
    app.session_state["client"].close()


def test_looking_inside_a_diverged_run_shows_its_last_finite_step():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"style": "autograd", "lr": "0.001", "dtype": "float64"})  # diverges at step 5
    app.run()
    app.button(key="train_button").click().run()
    wait_for(app, lambda a: "training diverged" in texts(a.error))
    steps = metrics(app)["Step"]
    app.button(key="inspect_button").click().run()
    wait_for(app, lambda a: "last finite step" in texts(a.info))
    last = int(steps) - 2
    assert f"**Step {last + 1}** of the run (the tutorial's `t = {last}`)" in texts(app.markdown)
    assert metrics(app)["Step"] == steps and "training diverged" in texts(app.error)  # the run as it ended
    app.session_state["client"].close()


def test_the_live_check_says_a_forgotten_mask_is_w1_off_beside_the_metrics():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"mistake": "no_relu_mask", "steps": "150", "predict": "0"})
    app.run()
    app.button(key="train_button").click().run()
    wait_for(app, lambda a: "Finished 150 steps" in texts(a.success))
    badge = next(m for m in app.markdown if m.value.startswith("Gradients"))
    assert ":red-badge[:material/error: w1 off by" in badge.value and "At step 1 " in badge.help
    app.session_state["client"].close()


def test_a_written_backward_pass_is_checked_then_trained_with(at):
    """The text box's lines go to the run's process, which names the first line that is off; Train
    with it makes them the run's ``backward`` setting, and a bad version is refused, never run."""
    from playground.inspection.written import cell_lines

    cell = cell_lines("numpy")
    assert at.text_area(key="written_text").value == cell
    at.text_area(key="written_text").input(cell.replace("grad_h[h < 0] = 0\n", "")).run()
    at.button(key="written_check").click().run()
    assert not at.exception
    assert any("Line 4 is the first that is off" in e.value for e in at.error), [e.value for e in at.error]
    at.text_area(key="written_text").input("grad_w1 = ().__class__.__bases__[0]").run()
    at.button(key="written_check").click().run()
    assert any("Not accepted, line 1:" in e.value and "starts with _" in e.value for e in at.error)
    mine = cell.replace("grad_y_pred = 2.0 * (y_pred - y)", "grad_y_pred = 2 * (y_pred - y)")
    at.text_area(key="written_text").input(mine).run()
    at.button(key="written_train").click().run()
    assert at.session_state["backward"] == mine
    assert any("This run trains with your lines" in i.value for i in at.info)
    at.button(key="written_reset").click().run()
    assert at.session_state["backward"] == "" and at.text_area(key="written_text").value == cell


def test_the_exercise_asks_for_each_line_in_turn_and_moves_on_when_it_agrees(at):
    at.toggle(key="written_exercise").set_value(True).run()
    assert at.text_area(key="written_text").value == ""
    asked = [m.value for m in at.markdown if m.value.startswith("**Line ")]
    assert asked and asked[0].startswith("**Line 1 of 7:** write `grad_y_pred`"), asked
    at.text_area(key="written_text").input("grad_y_pred = y_pred - y").run()  # the factor 2 missing
    at.button(key="written_check").click().run()
    assert any("Line 1 is the first that is off" in e.value for e in at.error)
    at.text_area(key="written_text").input("grad_y_pred = 2 * (y_pred - y)").run()
    at.button(key="written_check").click().run()
    asked = [m.value for m in at.markdown if m.value.startswith("**Line ")]
    assert asked[0].startswith("**Line 2 of 7:** write `grad_w2`"), asked
    at.toggle(key="written_exercise").set_value(False).run()  # the cell's lines come back
    assert "grad_h[h < 0] = 0" in at.text_area(key="written_text").value


def test_your_lines_race_the_cell_and_agree_where_the_maths_does():
    from playground.inspection.written import cell_lines
    from playground.links import pack_text

    mine = cell_lines("numpy").replace(
        "grad_h = grad_h_relu.copy()\ngrad_h[h < 0] = 0", "grad_h = grad_h_relu * (h >= 0)"
    )
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"style": "numpy", "steps": "60", "dtype": "float64", "backward": pack_text(mine)})
    app.run()
    assert app.session_state["backward"] == mine
    assert app.radio(key="cmp_preset").options[0] == "Your lines against the cell"
    compare(app, "yours")
    cell, yours = (view.state.last["loss"] for view in app.session_state["cmp"]["views"])
    assert yours == pytest.approx(cell, rel=1e-12) and not app.exception


def test_predict_first_asks_before_a_mistakes_run_and_the_link_can_say_no():
    app = AppTest.from_file(APP, default_timeout=60)
    app.query_params.update({"style": "numpy", "mistake": "no_relu_mask", "steps": "30"})
    app.run()
    assert app.toggle(key="predict_first").value  # on by default for a classic mistake
    app.button(key="train_button").click().run()
    assert [r.key for r in app.radio if r.key.startswith("predict_")] == ["predict_way", "predict_flag"]
    assert app.session_state["client"] is None  # nothing trains until the answer
    app.radio(key="predict_way").set_value("falls smoothly").run()
    app.button(key="predict_answer").click().run()
    assert app.session_state["prediction"]["answers"]["way"] == "falls smoothly"
    assert app.session_state["client"] is not None and not app.exception
    plain = AppTest.from_file(APP, default_timeout=60)
    plain.query_params.update({"style": "numpy", "mistake": "no_relu_mask", "predict": "0"})
    plain.run()
    assert not plain.toggle(key="predict_first").value
    for a in (app, plain):
        if a.session_state["client"] is not None:
            a.session_state["client"].close()


def test_the_boxs_text_outlives_a_change_of_style_and_the_exercise(at):
    mine = "grad_y_pred = 2 * (y_pred - y)  # mine"
    at.text_area(key="written_text").input(mine).run()
    at.selectbox(key="style").select("autograd").run()  # no box for autograd
    at.selectbox(key="style").select("numpy").run()
    assert at.text_area(key="written_text").value == mine
    at.toggle(key="written_exercise").set_value(True).run()
    assert at.text_area(key="written_text").value == ""
    at.toggle(key="written_exercise").set_value(False).run()
    assert at.text_area(key="written_text").value == mine and not at.exception
