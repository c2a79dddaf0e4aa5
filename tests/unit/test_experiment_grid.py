"""`--vary` specs -> runs: combination order, run names, repeats and every user mistake."""

from __future__ import annotations

import pytest

from testbed.errors import UserError
from testbed.experiment.grid import Vary, parse_vary, plan_runs


def test_first_vary_is_slowest_and_names_use_the_last_key_part() -> None:
    runs = plan_runs(
        ["platform.scheduler=hyperdrive,random", "platform.state=databelt,local"],
        1,
        ["time.speed=10"],
    )
    assert [run.name for run in runs] == [
        "scheduler=hyperdrive_state=databelt_r1",
        "scheduler=hyperdrive_state=local_r1",
        "scheduler=random_state=databelt_r1",
        "scheduler=random_state=local_r1",
    ]
    assert runs[2].combination == {"platform.scheduler": "random", "platform.state": "databelt"}
    assert runs[2].overrides == [
        "time.speed=10", "platform.scheduler=random", "platform.state=databelt"
    ]  # fmt: skip


def test_repeats_run_round_by_round_with_numbered_names() -> None:
    runs = plan_runs(["platform.state=databelt,local"], 2)
    assert [(run.name, run.repeat) for run in runs] == [
        ("state=databelt_r1", 1),
        ("state=local_r1", 1),
        ("state=databelt_r2", 2),
        ("state=local_r2", 2),
    ]
    assert runs[0].combination == runs[2].combination


def test_names_are_safe_directory_names_and_shared_key_ends_use_the_whole_key() -> None:
    runs = plan_runs(["nodes[2].select.count=4", "arrival.count=1/2"], 1)
    assert [run.name for run in runs] == ["nodes-2-.select.count=4_arrival.count=1-2_r1"]
    assert runs[0].overrides == ["nodes[2].select.count=4", "arrival.count=1/2"]


def test_no_vary_gives_the_scenario_as_given_repeated() -> None:
    runs = plan_runs([], 2, ["platform.state=local"])
    assert [(run.name, run.overrides) for run in runs] == [
        ("r1", ["platform.state=local"]), ("r2", ["platform.state=local"])
    ]  # fmt: skip


def test_values_are_stripped_and_kept_in_order() -> None:
    assert parse_vary(["time.speed = 1, 10 ,100"]) == [
        Vary(("time.speed",), (("1",), ("10",), ("100",)))
    ]


def test_fields_joined_with_plus_vary_together_not_crossed() -> None:
    runs = plan_runs(
        [
            "platform.state=databelt,local",
            "workload.request.size + platform.propagation.max_latency = 1000000+100ms,5e7+710ms",
        ],
        1,
    )
    assert [run.combination for run in runs] == [
        {"platform.state": state, "workload.request.size": size,
         "platform.propagation.max_latency": tmax}
        for state in ("databelt", "local")
        for size, tmax in (("1000000", "100ms"), ("5e7", "710ms"))
    ]  # fmt: skip
    assert runs[1].name == "state=databelt_size=5e7_max_latency=710ms_r1"
    assert runs[1].overrides == [
        "platform.state=databelt", "workload.request.size=5e7",
        "platform.propagation.max_latency=710ms",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("specs", "overrides", "message"),
    [
        (["platform.state"], [], "--vary platform.state: expected key=v1,v2"),
        (["=a,b"], [], "--vary =a,b: expected key=v1,v2"),
        (["platform.state="], [], "--vary platform.state=: empty value"),
        (["platform.state=local,,databelt"], [], "--vary platform.state=local,,databelt: empty"),
        (
            ["platform.state=local", "platform.state=databelt"],
            [],
            "--vary platform.state=databelt: platform.state is varied twice",
        ),
        (
            ["platform.state=local,databelt"],
            ["time.speed=2", "platform.state=local"],
            "--vary platform.state=local,databelt: platform.state is also given with --set",
        ),
        (["a..b=1,2"], [], "--vary a..b=1,2: "),
        (["x=a/b,a-b"], [], "--vary x=a/b,a-b: two values give the same run name"),
        (["x+y=1+2,3"], [], "--vary x+y=1+2,3: '3' gives 1 value(s) for 2 fields"),
        (["x+x=1+2"], [], "--vary x+x=1+2: a field is named twice"),
        (["x+=1+2"], [], "--vary x+=1+2: expected key=v1,v2"),
        (["x=1", "y+x=1+2"], [], "--vary y+x=1+2: x is varied twice"),
    ],
)
def test_each_mistake_names_the_vary_value(
    specs: list[str], overrides: list[str], message: str
) -> None:
    with pytest.raises(UserError) as raised:
        plan_runs(specs, 1, overrides)
    assert raised.value.problems[0].startswith(message), raised.value.problems


def test_bad_key_path_reports_the_field_path_problem() -> None:
    with pytest.raises(UserError, match=r"--vary a\.\.b=1: .*'a\.\.b' is not a field path"):
        parse_vary(["a..b=1"])


def test_repeat_must_be_positive() -> None:
    with pytest.raises(UserError, match="--repeat: must be at least 1"):
        plan_runs(["platform.state=local"], 0)
