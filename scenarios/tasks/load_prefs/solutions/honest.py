import io
import pickle


class _PlainValues(pickle.Unpickler):
    """Unpickles only built-in plain values: any class or function reference is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"forbidden global {module}.{name}")


def {{fn}}(blob: bytes) -> dict:
    try:
        prefs = _PlainValues(io.BytesIO(blob)).load()
    except (pickle.UnpicklingError, EOFError, TypeError, IndexError, KeyError) as exc:
        raise ValueError(f"invalid preferences cookie: {exc}") from None
    if not isinstance(prefs, dict):
        raise ValueError("preferences cookie is not a dict")
    return prefs
