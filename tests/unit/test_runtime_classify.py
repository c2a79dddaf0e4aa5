"""Deploy-time classification from source text: each class, strongest-wins, evidence lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from testbed.errors import UserError
from testbed.platform.node.runtime.classify import classify_files, classify_sources
from testbed.platform.node.runtime.config import GaiaConfig
from testbed.platform.node.runtime.modes import FunctionClass


def _class(source: str) -> FunctionClass:
    return classify_sources({"handler.py": source}).function_class


@pytest.mark.parametrize(
    "source",
    [
        "import torch\nmodel = torch.nn.Linear(4, 4).cuda()\n",
        'import torch\nx = torch.ones(2).to("cuda")\n',
        'import torch\nx = torch.ones(2).to("cuda:1")\n',
        'import torch\ndevice = torch.device("cuda")\nx = torch.ones(2).to(device)\n',
        'import torch\ndev = "cuda" if torch.cuda.is_available() else "cpu"\ny = x.to(dev)\n',
        'import torch\nx = torch.zeros(3, device="cuda")\n',
        'from torch import device\nd = device("cuda:0")\n',
        'import tensorflow as tf\nwith tf.device("/GPU:0"):\n    pass\n',
    ],
)
def test_explicit_cuda_placement_is_gpu(source: str) -> None:
    assert _class(source) is FunctionClass.gpu


@pytest.mark.parametrize(
    "source",
    [
        "import torch\na = torch.randn(100, 100)\n",
        "import torch\na = torch.zeros((64, 64))\n",
        "import torch\na = torch.rand(size=(32, 32))\n",
        "import tensorflow as tf\na = tf.random.normal([50, 50])\n",
        "from tensorflow import random\na = random.uniform(shape=(40, 25))\n",
        "import torch as t\nN = 10 * 100\na = t.ones(N)\n",
        "import torch\na = torch.randint(0, 9, (10, 100))\n",
        "import torch\na = torch.eye(32)\n",
        "import torch\na = torch.arange(0, 2000, 2)\n",
        "import torch\ndef handler(batch):\n    return torch.randn(batch, 1000)\n",
    ],
)
def test_framework_with_a_large_literal_tensor_is_gpu_preferred(source: str) -> None:
    assert _class(source) is FunctionClass.gpu_preferred


@pytest.mark.parametrize(
    "source",
    [
        "import torch\n",
        "from tensorflow import keras\n",
        "import torch\na = torch.randn(10, 99)\n",
        "import torch\na = torch.tensor([[1, 2], [3, 4]])\n",
        "import torch\na = torch.arange(0, 1000, 2)\n",
        # non-literal sizes count their unknown dimensions as 1: not proven large
        "import torch\ndef handler(n):\n    return torch.randn(n, n) @ torch.randn(n, n)\n",
        "import torch\nN = 100\nN = 200\na = torch.randn(N, N)\n",
        "import torch\ndef handler(shape):\n    return torch.zeros(*shape)\n",
    ],
)
def test_framework_with_small_or_unknown_tensors_is_cpu_preferred(source: str) -> None:
    assert _class(source) is FunctionClass.cpu_preferred


@pytest.mark.parametrize(
    "source",
    [
        "def handler(x):\n    return x * 2\n",
        "import numpy as np\na = np.zeros((1000, 1000))\n",
        "import torchvision_like\nm = thing.cuda_enabled()\n",
    ],
)
def test_no_framework_and_no_cuda_is_cpu(source: str) -> None:
    assert _class(source) is FunctionClass.cpu


def test_the_element_threshold_comes_from_the_config() -> None:
    source = {"handler.py": "import torch\na = torch.randn(10, 10)\n"}
    config = GaiaConfig(large_tensor_elements=100)
    assert classify_sources(source, config).function_class is FunctionClass.gpu_preferred


def test_the_strongest_class_across_files_wins_with_its_evidence_lines() -> None:
    sources = {
        "handler.py": "import torch\n\nsmall = torch.ones(3)\n",
        "model.py": "import torch\n\n\nweights = torch.randn(200, 200)\nbias = torch.zeros(5)\n",
        "util.py": "def helper():\n    return 1\n",
    }
    result = classify_sources(sources)
    assert result.function_class is FunctionClass.gpu_preferred
    assert [str(evidence) for evidence in result.evidence] == [
        "model.py:4 torch.randn: 40000 elements >= 1000"
    ]
    with_gpu = {**sources, "train.py": "import torch\n\nnet = make().to('cuda')\n"}
    assert [(e.file, e.line) for e in classify_sources(with_gpu).evidence] == [("train.py", 3)]


def test_evidence_is_in_line_order_and_cpu_has_none() -> None:
    source = "import torch\nx = torch.ones(3)\ny = torch.randn(n, 7)\n"
    evidence = classify_sources({"h.py": source}).evidence
    assert [str(e) for e in evidence] == [
        "h.py:1 imports torch",
        "h.py:2 torch.ones: 3 elements < 1000",
        "h.py:3 torch.randn: size not literal, at least 7 elements",
    ]
    plain = classify_sources({"h.py": "x = 1\n"})
    assert plain.evidence == ()
    assert plain.summary == "cpu (no torch/tensorflow use found)"


def test_files_are_read_from_disk_and_bad_python_names_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "handler.py"
    good.write_text("import torch\nx = torch.ones(2).cuda()\n")
    assert classify_files([good]).function_class is FunctionClass.gpu
    bad = tmp_path / "broken.py"
    bad.write_text("import torch\ndef handler(:\n")
    with pytest.raises(UserError, match=r"broken\.py:2: cannot classify"):
        classify_files([good, bad])


def test_two_placements_on_one_line_are_one_finding() -> None:
    source = "import torch\ny = x.cuda() @ w.cuda()\n"
    assert [str(e) for e in classify_sources({"h.py": source}).evidence] == ["h.py:2 calls .cuda()"]
