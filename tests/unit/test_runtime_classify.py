"""Deploy-time classification as Gaia's Execution Mode Identifier does it: one test per
rule, the deliberate differences from its code, and the five functions of its experiments."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.errors import UserError
from testbed.platform.node.runtime.classify import classify_files, classify_sources
from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import FunctionClass

GAIA_FUNCTIONS = Path(__file__).resolve().parents[2] / "functions" / "gaia"


def _class(source: str) -> FunctionClass:
    return classify_sources({"handler.py": source}).function_class


@pytest.mark.parametrize(
    "source",
    [
        "import torch\nmodel = torch.nn.Linear(4, 4).cuda()\n",
        'import torch\nx = torch.ones(2).to("cuda")\n',
        'import torch\nx = torch.ones(2).to("cuda:1")\n',
        'import torch\ndevice = torch.device("cuda")\n',
        'from torch import device\nd = device("cuda:0")\n',
        'import tensorflow as tf\nwith tf.device("cuda"):\n    pass\n',
        # the paper counts every explicit call; the original's visitor only the last one
        'import torch\nx = torch.ones(2).cuda()\ny = torch.zeros(3)\nprint("done")\n',
    ],
)
def test_rule_1_an_explicit_gpu_call_is_gpu(source: str) -> None:
    assert _class(source) is FunctionClass.gpu


@pytest.mark.parametrize(
    "source",
    [
        # a device chosen at run time is not explicit (the original leaves this case out too)
        'import torch\ndev = "cuda" if torch.cuda.is_available() else "cpu"\nx = t.to(dev)\n',
        'import torch\nx = torch.zeros(3, device="cuda")\n',  # only the listed forms count
        'import tensorflow as tf\nwith tf.device("/GPU:0"):\n    pass\n',
        "import torch\ndef handle(ctx):\n    return torch.ones(3, device=ctx.device)\n",
    ],
)
def test_a_device_not_named_in_the_listed_forms_is_not_explicit(source: str) -> None:
    assert _class(source) is FunctionClass.cpu_preferred


@pytest.mark.parametrize(
    "source",
    [
        "import torch\na = torch.randn(100, 100)\n",
        "import torch\na = torch.zeros((10, 100))\n",
        "import torch as t\na = t.ones([1000])\n",
        "import torch\na = torch.tensor([[0] * 1] + [[1, 2, 3]])\nb = torch.empty(1000)\n",
        "import tensorflow as tf\na = tf.random.normal([50, 50])\n",
        "import tensorflow as tf\na = tf.fill((40, 25), 1.0)\n",
    ],
)
def test_rule_2_a_framework_and_a_large_literal_tensor_is_gpu_preferred(source: str) -> None:
    assert _class(source) is FunctionClass.gpu_preferred


@pytest.mark.parametrize(
    "source",
    [
        "import torch\n",
        "import torch.nn\n",
        "from transformers import pipeline\n",
        "from tensorflow import keras\n",
        "import torch\na = torch.randn(10, 99)\n",  # 990 elements: small
        "import torch\na = torch.tensor([1, 2, 3])\n",
        "import torch\ndef f(n):\n    return torch.zeros(n, n)\n",  # size not literal
        "import torch\na = torch.rand(100, 100)\n",  # rand is not among the calls it sizes
        "import tensorflow as tf\na = tf.constant(3.0)\n",
    ],
)
def test_rule_3_a_framework_without_large_literal_tensors_is_cpu_preferred(source: str) -> None:
    assert _class(source) is FunctionClass.cpu_preferred


@pytest.mark.parametrize(
    "source",
    [
        "def handler(x):\n    return x\n",
        "import json\nimport numpy as np\na = np.zeros((1000, 1000))\n",  # json is no framework
        "import torchvision\n",
    ],
)
def test_rule_4_no_framework_is_cpu(source: str) -> None:
    assert _class(source) is FunctionClass.cpu


def test_the_element_threshold_comes_from_the_config() -> None:
    source = {"handler.py": "import torch\na = torch.ones(500)\n"}
    assert classify_sources(source).function_class is FunctionClass.cpu_preferred
    small = GaiaConfig(large_tensor_elements=500)
    assert classify_sources(source, small).function_class is FunctionClass.gpu_preferred


def test_across_files_the_strongest_wins_and_no_files_is_cpu_preferred() -> None:
    found = classify_sources(
        {
            "a.py": "import torch\n",
            "b.py": "import torch\nx = torch.ones(2000)\n",
            "c.py": "def f():\n    pass\n",
        }
    )
    assert found.function_class is FunctionClass.gpu_preferred
    assert [str(e) for e in found.evidence] == [
        "b.py:2 torch.ones: 2000 elements >= 1000",
        "b.py:1 imports torch",
    ]
    assert classify_sources({}).function_class is FunctionClass.cpu_preferred


def test_files_are_read_from_disk_and_bad_python_names_file_and_line(tmp_path: Path) -> None:
    good, bad = tmp_path / "ok.py", tmp_path / "broken.py"
    good.write_text("import torch\nx = torch.ones(3).cuda()\n")
    bad.write_text("def f(:\n")
    assert classify_files([good]).summary == f"gpu ({good}:2 calls .cuda())"
    with pytest.raises(UserError, match=f"{bad}:1: cannot classify, not Python"):
        classify_files([good, bad])


@pytest.mark.parametrize(
    "name",
    ["matrix_multiply", "image_classifier", "language_model", "sentiment", "idle_wait"],
)
def test_the_five_functions_of_gaias_experiments_are_left_to_the_runtime(name: str) -> None:
    """Written to take the device the runtime gives them, they classify as Gaia's own do in
    its experiments (cpu_preferred), so the runtime re-evaluates where they run."""
    found = classify_files([GAIA_FUNCTIONS / f"{name}.py"])
    assert found.function_class is FunctionClass.cpu_preferred
    assert found.function_class.adaptive
