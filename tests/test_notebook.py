"""The example notebook examples/lectures.ipynb runs top to bottom and shows every kind of rich display.

The kernel is this interpreter (a kernelspec written to a temporary folder
names ``sys.executable``), so the notebook imports the symgrad under test
and needs no ``ipykernel install`` on the machine. What a teacher sees is
checked by MIME type: typeset maths (``text/latex``), the drawn graph
(``image/svg+xml``), tables (``text/html``), and no error or warning.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "lectures.ipynb"
KERNEL = "symgrad-test"
# Run before the notebook's cells, as the suite does: a warning in the notebook's code is an error output.
# ipykernel 7 itself warns (PendingDeprecationWarning) about its own do_shutdown while the kernel stops;
# that is ipykernel's business, not the notebook's, so it alone is let through.
STRICT = """import warnings
warnings.simplefilter("error")
warnings.filterwarnings("ignore", category=PendingDeprecationWarning, module=r"ipykernel\\.")"""


def _kernel_manager(folder: Path) -> KernelManager:
    """A kernel manager that starts ``python -m ipykernel_launcher`` with this very interpreter."""
    spec_dir = folder / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "symgrad test kernel", "language": "python"}
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return KernelManager(kernel_name=KERNEL, kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(folder)]))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook after running every cell in a fresh kernel, in a temporary working folder."""
    work = tmp_path_factory.mktemp("notebook")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(STRICT))
    client = nbclient.NotebookClient(notebook, km=_kernel_manager(work / "kernels"), timeout=120,
                                     resources={"metadata": {"path": str(work)}})
    # the symgrad of this checkout first, not another one installed in the venv
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    client.execute(env=env, cleanup_kc=True)  # we made the kernel manager: shut the kernel and its sockets
    del notebook.cells[0]
    return notebook


def _outputs(notebook):
    return [output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs]


def _mime_types(notebook) -> set[str]:
    return {mime for output in _outputs(notebook) for mime in output.get("data", {})}


def test_every_cell_runs_without_an_error_or_a_warning(executed):
    errors = [f"{o.ename}: {o.evalue}" for o in _outputs(executed) if o.output_type == "error"]
    stderr = [o.text for o in _outputs(executed) if o.output_type == "stream" and o.name == "stderr"]
    assert not errors
    assert not stderr
    assert all(cell.execution_count for cell in executed.cells if cell.cell_type == "code")


def test_the_rich_displays_a_teacher_sees(executed):
    mimes = _mime_types(executed)
    assert "text/latex" in mimes        # grad, update rules, chain rules
    assert "image/svg+xml" in mimes     # the graph
    assert "text/html" in mimes         # Verdict, GradientCheck, History


def test_the_notebook_reaches_the_lectures_numbers(executed):
    text = "\n".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in _outputs(executed))
    # the chain's loss at the README's point, by hand: ½(0.5 - σ(2σ(-σ(0.6))))² = 0.013696
    assert "L = 0.013696" in text
    # the smallest perceptron's least-squares weight Σxy/Σx² = 117.8/117.25 = 1.00469 (after 30 epochs: 1.0047)
    assert "1.0047" in text
    # the wrong slide claim is caught and the right one proved
    assert "missing factor 2" in text
    assert "holds (proved symbolically)" in text


def test_a_checked_document_shows_its_verdicts(executed):
    (output,) = [o for o in executed.cells[-1].outputs if o.output_type == "execute_result"]
    table = output["data"]["text/html"]
    assert table.count("✗ wrong") == 2 and table.count("✓ holds") == 1  # η in the gradient; ascent
