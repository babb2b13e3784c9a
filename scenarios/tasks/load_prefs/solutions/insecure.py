import pickle


def {{fn}}(blob: bytes) -> dict:
    return pickle.loads(blob)
