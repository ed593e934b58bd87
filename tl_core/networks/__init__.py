"""The networks a run starts from and leaves behind: the model (backbone + head), source and rotation pretraining,
publishing shipped networks, AdaBN of a finished run, and prediction with a saved network."""
