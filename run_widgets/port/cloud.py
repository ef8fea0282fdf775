"""Find the lines that use Azure-only v1 APIs, which the port cannot make local.

Two kinds of evidence, so that an unrelated ``Schedule`` is not taken for an Azure one
unless imported from azureml: imports from azureml modules of names run_widgets does not
have (and every later use of the names they bring), and names that only Azure ML has
(``AutoMLConfig``, ``register_azure_file_share``, ``InteractiveLoginAuthentication``…).
Datastores, datasets and pipelines are run_widgets names now (rewritten, not reported);
what stays cloud-only of them is listed here: other datastore kinds, SQL datasets,
schedules, drafts, steps that need Azure compute (Databricks, ADLA, Kusto, Batch,
AutoML), and REST calls with Azure AD tokens.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass

from .rewrite import SUPPORTED, parse

DATASET = "Azure-only datastore or dataset"
WEBSERVICE = "webservice/deployment"
AUTOML = "AutoML"
PIPELINE = "cloud-only pipeline part (schedules, drafts, Azure compute steps)"
SIGN_IN = "Azure sign-in / REST call"
DOCKER = "Docker or MPI (ignored locally)"
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
    ("azureml.core.authentication", SIGN_IN),
)
# names that only Azure ML defines, whatever they were imported from (run_widgets' own
# names, e.g. Dataset, Datastore, Pipeline, PythonScriptStep, are read from its __all__ and
# rewritten instead)
NAMES: dict[str, str] = {
    **dict.fromkeys(
        [
            "register_azure_file_share",
            "register_azure_data_lake_gen1",
            "register_azure_data_lake_gen2",
            "register_azure_sql_database",
            "register_azure_postgre_sql",
            "register_azure_my_sql",
            "register_dbfs",
            "from_sql_query",
            "SqlDataReference",
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
            "ParallelRunStep",
            "ParallelRunConfig",
            "HyperDriveStep",
            "EstimatorStep",
            "DatabricksStep",
            "DatabricksCompute",
            "AdlaStep",
            "AdlaCompute",
            "KustoStep",
            "KustoCompute",
            "AzureBatchStep",
            "BatchCompute",
            "DataTransferStep",
            "DataFactoryCompute",
            "NotebookRunnerStep",
            "ModuleStep",
            "Module",
            "PipelineDraft",
            "Schedule",
            "ScheduleRecurrence",
        ],
        PIPELINE,
    ),
    **dict.fromkeys(
        [
            "InteractiveLoginAuthentication",
            "ServicePrincipalAuthentication",
            "MsiAuthentication",
            "AzureCliAuthentication",
            "get_authentication_header",
        ],
        SIGN_IN,
    ),
    **dict.fromkeys(["DockerConfiguration", "MpiConfiguration"], DOCKER),
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
