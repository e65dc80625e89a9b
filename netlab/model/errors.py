"""The model's one error: a scenario that cannot be valid. The loader adds the file name."""


class InvalidScenario(ValueError):
    """Raised while building or validating a scenario; the message names the object and the problem."""
