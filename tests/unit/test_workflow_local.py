"""The local runtime's semantics: drops, by-value messages, self timers, invocation records."""

from __future__ import annotations

import json
from pathlib import Path

from testbed.workload.loader import load_workflow
from testbed.workload.local import LocalRuntime

CODE = """
def handle_cast(ctx, src, msg):
    msg.append(ctx.self_id)
    ctx.cast("out", msg)
    ctx.cast("unmapped", msg)
"""


def test_casts_are_by_value_in_order_and_unmapped_outputs_drop(tmp_path: Path) -> None:
    (tmp_path / "f.py").write_text(CODE)
    spec = {"id": "f", "function_type": "PYTHON", "version": "1", "code": "f.py"}
    functions = [
        {"name": "a", "class_specification": spec, "output_mapping": {"out": "b"}},
        {"name": "b", "class_specification": spec, "output_mapping": {"out": "log"}},
    ]
    resources = [{"name": "log", "class_type": "file-log"}]
    path = tmp_path / "wf.json"
    path.write_text(json.dumps({"functions": functions, "resources": resources}))
    runtime = LocalRuntime(load_workflow(path))
    runtime.start()
    sent: list[str] = []
    runtime.cast("a", sent)
    assert runtime.run() == 3
    assert runtime.received["log"] == [["a", "b"]]
    assert sent == []  # the sender's object was never touched
    assert runtime.dropped == [("a", "unmapped"), ("b", "unmapped")]
    assert [i.instance for i in runtime.invocations if i.handler == "handle_cast"] == ["a", "b"]
