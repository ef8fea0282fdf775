"""A v1-style script mixing local tracking with an AutoML step in an Azure ML pipeline."""
from azureml.core import Experiment, Workspace, Dataset
from azureml.core.run import Run
from azureml.pipeline.core import Pipeline, PipelineData
from azureml.pipeline.steps import AutoMLStep
from azureml.train.automl import AutoMLConfig

ws = Workspace.from_config()
exp = Experiment(ws, "automl-pipeline")
training = Dataset.get_by_name(ws, "training")  # Azure dataset
datastore = ws.get_default_datastore()
automl_config = AutoMLConfig(task="regression", training_data=training, label_column_name="y")
step = AutoMLStep(name="automl", automl_config=automl_config, outputs=[PipelineData("m", datastore)])
pipeline = Pipeline(ws, steps=[step])
run = Run.get_context()
run.log("pipeline_steps", 1)
