"""Progress lines (model_recycling/progress.py): when they are printed and what they say."""

import io

from model_recycling.progress import Progress


def test_lines_at_the_first_step_every_n_steps_and_the_last():
    out = io.StringIO()
    progress = Progress("train", total=7, every=3, seconds=3600, out=out)
    for _ in range(7):
        progress.step(16, "loss 0.5")
    lines = out.getvalue().splitlines()
    assert [line.split(",")[0] for line in lines] == [
        f"progress train: step {n}/7" for n in (1, 3, 6, 7)
    ]
    assert all("examples/s" in line and "ETA" in line and "loss 0.5" in line for line in lines)
    assert lines[-1].endswith("ETA 0m00s, loss 0.5")


def test_an_early_stop_gets_a_last_line_and_time_alone_triggers_one():
    out = io.StringIO()
    progress = Progress("train", total=100, every=50, seconds=0.0, out=out)
    progress.step(8)
    progress.step(8)  # due by time: seconds=0
    progress.finish("stopped early")
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and lines[-1].startswith("progress train: step 2/100")
    assert "ETA 0m00s, stopped early" in lines[-1]


def test_a_function_for_the_tail_is_called_only_for_printed_lines():
    out, calls = io.StringIO(), []

    def tail():
        calls.append(len(calls))
        return f"loss {len(calls)}"

    progress = Progress("train", total=7, every=3, seconds=3600, out=out)
    for _ in range(7):
        progress.step(16, tail)
    assert len(calls) == 4  # steps 1, 3, 6 and 7
    assert out.getvalue().splitlines()[-1].endswith("loss 4")
