"""ISO 639-3 codes for the labels language identifiers emit (mostly ISO 639-1).

Where ISO 639-1 names a macrolanguage, we give the individual language FLORES-200 uses
for it (ar -> arb, fa -> pes, ms -> zsm, sw -> swh, ...), so that a detected language finds
its row in the premium tables, which are keyed by FLORES codes without script.
"""

from __future__ import annotations

from types import MappingProxyType

UNDETERMINED = "und"

_TO_ISO639_3 = {
    "ace": "ace", "af": "afr", "am": "amh", "an": "arg", "ar": "arb", "ary": "ary",
    "arz": "arz", "as": "asm", "az": "azj", "ba": "bak", "bcl": "bcl", "be": "bel",
    "bg": "bul", "bn": "ben", "br": "bre", "bs": "bos", "ca": "cat", "crh": "crh",
    "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "dz": "dzo", "el": "ell",
    "en": "eng", "eo": "epo", "es": "spa", "et": "est", "eu": "eus", "ext": "ext",
    "fa": "pes", "fi": "fin", "fo": "fao", "fr": "fra", "fuv": "fuv", "fy": "fry",
    "ga": "gle", "gcf": "gcf", "gcr": "gcr", "gd": "gla", "gl": "glg", "gom": "gom",
    "grc": "grc", "gu": "guj", "gug": "grn", "guw": "guw", "ha": "hau", "hbo": "hbo",
    "he": "heb", "hi": "hin", "hr": "hrv", "ht": "hat", "hu": "hun", "hy": "hye",
    "id": "ind", "ig": "ibo", "is": "isl", "it": "ita", "ja": "jpn", "jv": "jav",
    "ka": "kat", "kab": "kab", "kik": "kik", "kk": "kaz", "km": "khm", "kn": "kan",
    "ko": "kor", "ku": "kmr", "ky": "kir", "la": "lat", "lb": "ltz", "lg": "lug",
    "lij": "lij", "ln": "lin", "lo": "lao", "lt": "lit", "ltg": "ltg", "lv": "lvs",
    "mg": "plt", "mk": "mkd", "ml": "mal", "mn": "khk", "mr": "mar", "ms": "zsm",
    "mt": "mlt", "my": "mya", "ne": "npi", "nl": "nld", "nn": "nno", "no": "nob",
    "nso": "nso", "oc": "oci", "om": "gaz", "or": "ory", "pa": "pan", "pcm": "pcm",
    "pl": "pol", "ps": "pbt", "pt": "por", "qu": "quy", "ro": "ron", "ru": "rus",
    "rw": "kin", "sa": "san", "sdh": "sdh", "se": "sme", "si": "sin", "sk": "slk",
    "sl": "slv", "sn": "sna", "so": "som", "sq": "als", "sr": "srp", "st": "sot",
    "sv": "swe", "sw": "swh", "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha",
    "tk": "tuk", "tl": "tgl", "tr": "tur", "tt": "tat", "ug": "uig", "uk": "ukr",
    "ur": "urd", "uz": "uzn", "uzs": "uzs", "vec": "vec", "vi": "vie", "vo": "vol",
    "wa": "wln", "wuu": "wuu", "xh": "xho", "yo": "yor", "yue": "yue", "zh": "zho",
    "zu": "zul", "zxx": "zxx",
}

TO_ISO639_3 = MappingProxyType(_TO_ISO639_3)


def to_iso639_3(label: str) -> str:
    """The ISO 639-3 code (FLORES-200 flavour) of an identifier's label; `und` if unknown."""
    return TO_ISO639_3.get(label, label if len(label) == 3 else UNDETERMINED)


def flores_language(code: str) -> str:
    """The language part of a FLORES-200 code: `hin_Deva` -> `hin`."""
    return code.split("_", 1)[0]
