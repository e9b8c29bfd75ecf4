# The tasks stage's input and params functions (its rules: rules/tasks.smk).


def task_data_inputs(task):
    """A task's local data files, as inputs (a changed file prepares the task again). A missing
    file that no job builds is left out: the task's preparation then fails alone, naming it.
    """
    files = REGISTRY[task].local_data_files()
    built = ZOO.get("enabled") and ZOO_DIR
    return [f for f in files if os.path.exists(f) or (built and f.startswith(built))]
