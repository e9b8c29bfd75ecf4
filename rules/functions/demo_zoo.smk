# The demo zoo stage's input and params functions (its rules: rules/demo_zoo.smk).


def zoo_settings(*keys, **extra):
    zoo = RECORDED["demo_zoo"]
    return as_json({**{key: zoo[key] for key in keys}, **extra})


def zoo_models():
    """Every model folder the demo zoo builds (inputs of listing a source inside the zoo)."""
    if not ZOO.get("enabled"):
        return []
    names = [*ZOO["bases"], *ZOO["intermediates"], *DECOYS]
    return expand(f"{ZOO_DIR}/models/{{name}}", name=names)


def zoo_folders():
    """The demo zoo's models folder and each model folder it builds (none without a zoo)."""
    models = zoo_models()
    return [f"{ZOO_DIR}/models", *models] if models else []
