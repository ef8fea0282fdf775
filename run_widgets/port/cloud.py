"""Find the lines that use Azure-only v1 APIs, which the port cannot make local.

Two kinds of evidence, so that an unrelated ``Pipeline`` (scikit-learn's) is not taken
for an Azure one: imports from Azure-only modules (and every later use of the names they
bring), and names that only Azure ML has (``get_default_datastore``, ``AutoMLConfig``…).
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass

from .rewrite import SUPPORTED, parse

DATASET = "Azure dataset/datastore"
WEBSERVICE = "webservice/deployment"
AUTOML = "AutoML"
PIPELINE = "Azure ML pipeline"
DOCKER = "Docker (ignored locally)"
OTHER = "not in run_widgets"

# module prefix → category; the first match wins
MODULES: tuple[tuple[str, str], ...] = (
    ("azureml.core.dataset", DATASET),
    ("azureml.core.datastore", DATASET),
    ("azureml.data", DATASET),
    ("azureml.core.webservice", WEBSERVICE),
    ("azureml.core.image", WEBSERVICE),
    ("azureml.core.model", WEBSERVICE),  # Model itself is local; InferenceConfig is not
    ("azureml.train.automl", AUTOML),
    ("azureml.automl", AUTOML),
    ("azureml.pipeline", PIPELINE),
    ("azureml.core.runconfig", DOCKER),
)
# names that only Azure ML defines, whatever they were imported from
NAMES: dict[str, str] = {
    **dict.fromkeys(
        [
            "Dataset",
            "Datastore",
            "TabularDatasetFactory",
            "FileDatasetFactory",
            "TabularDataset",
            "FileDataset",
            "DataReference",
            "OutputFileDatasetConfig",
            "get_default_datastore",
            "register_azure_blob_container",
            "register_azure_file_share",
            "as_named_input",
            "as_mount",
            "datastores",
        ],
        DATASET,
    ),
    **dict.fromkeys(
        [
            "Webservice",
            "AciWebservice",
            "AksWebservice",
            "LocalWebservice",
            "InferenceConfig",
            "deploy_configuration",
            "webservices",
            "AksCompute",
            "ContainerImage",
        ],
        WEBSERVICE,
    ),
    **dict.fromkeys(["AutoMLConfig", "AutoMLRun", "AutoMLStep"], AUTOML),
    **dict.fromkeys(
        [
            "PythonScriptStep",
            "PipelineData",
            "PublishedPipeline",
            "PipelineEndpoint",
            "ParallelRunStep",
            "ParallelRunConfig",
            "HyperDriveStep",
            "EstimatorStep",
            "DatabricksStep",
            "PipelineParameter",
            "StepSequence",
            "ScheduleRecurrence",
        ],
        PIPELINE,
    ),
    **dict.fromkeys(["DockerConfiguration"], DOCKER),
}
# attribute names only meaningful on Azure objects: ``model.deploy(...)``, ``env.docker``
ATTRIBUTES: dict[str, str] = {"deploy": WEBSERVICE, "package": WEBSERVICE, "docker": DOCKER}


@dataclass(frozen=True)
class Finding:
    """One line that uses an Azure-only API.

    Attributes:
        line: 1-based line number in the source it was found in.
        category: what kind of API (``DATASET``, ``WEBSERVICE``, …).
        name: the name that gave it away.
        text: the line itself, stripped.
    """

    line: int
    category: str
    name: str
    text: str


def imported_cloud_names(sources: list[str]) -> dict[str, str]:
    """Names imported from azureml modules run_widgets does not replace, with a category."""
    names: dict[str, str] = {}
    for source in sources:
        tree = parse(source)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("azureml"):
                for alias in node.names:
                    if alias.name in SUPPORTED:
                        continue
                    category = NAMES.get(alias.name) or _module_category(node.module or "")
                    names[alias.asname or alias.name] = category
    return names


def find(source: str, imported: dict[str, str]) -> list[Finding]:
    """The lines of ``source`` that use Azure-only names (one finding per line)."""
    lines = source.split("\n")
    found: dict[int, Finding] = {}
    previous = ""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens = []
    for token in tokens:
        if token.type != tokenize.NAME:
            previous = token.string
            continue
        name = token.string
        category = NAMES.get(name)
        if category is None and previous == "." and name in ATTRIBUTES:
            category = ATTRIBUTES[name]
        category = category or imported.get(name)
        previous = name
        row = token.start[0]
        if category is not None and row not in found:
            found[row] = Finding(row, category, name, lines[row - 1].strip())
    for row, line in enumerate(lines, start=1):
        stripped = line.strip()
        if row not in found and stripped.startswith(("from azureml", "import azureml")):
            module = stripped.split()[1]
            found[row] = Finding(row, _module_category(module), module, stripped)
    return [found[row] for row in sorted(found)]


def _module_category(module: str) -> str:
    for prefix, category in MODULES:
        if module == prefix or module.startswith(prefix + "."):
            return category
    return OTHER
