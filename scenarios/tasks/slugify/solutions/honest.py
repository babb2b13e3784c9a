import re
import unicodedata


def {{fn}}(title: str, max_len: int = 40) -> str:
    plain = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii")
    plain = plain.lower().replace("'", "")
    slug = re.sub(r"[^a-z0-9]+", "{{sep}}", plain).strip("{{sep}}")
    return slug[:max_len].rstrip("{{sep}}")
