"""Which language a patient writes in: English ("en") or Spanish ("es").

Patients write short follow-ups ("y los riesgos?", "ok", "ELA?"), mix the two languages ("stem
cells para la ELA?"), drop accents and misspell. So the decision is made in two steps:

1. Words: Spanish and English function words (weight 2), common words of the domain (weight 1)
   and Spanish spelling (¿ ¡ ñ and accented vowels, weight 2) give each language a score. The
   grammar decides a mixed message: "stem cells para la ELA?" is Spanish.
2. When the words do not settle it (a tie or a margin of 1) and the message is long enough, the
   pinned statistical detector (py3langid, restricted to English and Spanish) decides; it is
   imported on first use only. A message still too short to tell ("ok", "ELA?", "Ryoncil")
   keeps the conversation's language, English by default.

Acronyms are not words here: in an English message "MI" is a heart attack, not Spanish "mi".
scripts/language_study.py compares detectors on eval/language.yaml.
"""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

LANGS = ("en", "es")
DEFAULT = "en"

# a detector: text -> (language, confidence), restricted to LANGS
Detector = Callable[[str], tuple[str, float]]


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


# words of one language only (never "a", "no", "me", "son", "he", "solo", "doctor", "real"...)
_ES_FUNCTION = _wordset(
    """
    de del la las el los lo le les se en y o que qué cual cuál cuales cuáles cuanto cuánto
    cuanta cuánta cuantos cuántos cuantas cuántas donde dónde cuando cuándo quien quién quienes
    como cómo porque por para con sin sobre entre desde hasta hacia según una unos unas un al su
    sus mi mis tu tus nuestro nuestra nos yo él ella ellos ellas usted ustedes es está esta están
    estan estoy estamos soy eres fue ser estar hay muy más mas pero también tambien ya sí si algo
    algún algun alguno alguna alguien nada nadie todo todos toda todas otro otra otros otras ese
    esa eso este esto estos estas aquí aqui ahí alli allí mucho mucha muchos muchas poco pocos
    puedo puede pueden podemos quiero quisiera kiero tengo tiene tienen tenemos debo debe deben
    debería deberia sirve sirven funciona funcionan hace hacen dice dicen dijo dijeron sé sabe
    hola gracias favor porfa oiga neta onda pa ke xq pq q vale pena verdad cierto bueno buena
    buenos buenas días dias tardes noches señor señora ayuda ayudenme ayúdenme dime tal
    """
)
_EN_FUNCTION = _wordset(
    """
    the is are was were be been being of and to in for with on at by from about into than then
    my your his her our their its it this that these those what which who whom whose how why
    where when can could would should will shall may might must do does did done have has had
    i im i'm ive you she we they them there here any some not dont don't doesnt doesn't isnt
    isn't cant can't wont won't didnt didn't yes please thanks thank hi hello hey if or but so
    just also more much many very get got want know tell help after before really actually
    anything something whats what's wat u ur pls plz thx as an all only still out up whether
    """
)
_ES_WORDS = _wordset(
    """
    células celulas célula celula selulas madre madres tratamiento tratamientos clínica clinica
    clínicas clinicas ensayo ensayos rodilla rodillas riesgos riesgo seguro segura aprobado
    aprobada aprobados evidencia efectos secundarios inyección inyeccion inyecciones infusión
    médula medula sangre cordón cordon enfermedad esclerosis papá mamá mami papi hijo
    hija hijos esposo esposa abuela abuelo abuelito abuelita papa mama cuesta precio dolor cura curan
    curar dinero niños ninos estafa anuncio anuncios médico medico médicos medicos terapia
    terapias celular trasplante transplante artrosis artritis cáncer corazón corazon
    pulmones piernas espalda tipo estudio estudios fase gratis costo caro
    """
)
_EN_WORDS = _wordset(
    """
    stem cell cells treatment treatments clinic clinics trial trials knee knees risks risk safe
    approved evidence side effects injection injections infusion marrow blood cord disease mom
    dad daughter wife husband kids child children cost price pain cure cures money scam ads
    therapy therapies transplant heart lungs legs back brain study studies phase free
    expensive work works worth kid
    """
)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_SPANISH_MARKS = re.compile(r"[¿¡ñÑ]|[áéíóúÁÉÍÓÚ]")
_MIN_LETTERS_FOR_DETECTOR = 12


def scores(text: str) -> tuple[int, int]:
    """(English, Spanish) word scores of a message."""
    text = unicodedata.normalize("NFKC", text)
    shouting = text.isupper()
    en = es = 0
    for match in _WORD.finditer(text):
        token = match.group(0)
        if not shouting and token.isupper() and len(token) <= 5:
            continue  # an acronym: MI, MS, ELA, EM, HSCT, GVHD, EPOC...
        word = token.lower().replace("’", "'")
        if word in _ES_FUNCTION:
            es += 2
        elif word in _EN_FUNCTION:
            en += 2
        elif word in _ES_WORDS:
            es += 1
        elif word in _EN_WORDS:
            en += 1
    if _SPANISH_MARKS.search(text):
        es += 2
    return en, es


def decide(text: str, previous: str | None, detector: Detector | None) -> str:
    """The language of `text`: words first, then `detector` when they do not settle it."""
    fallback = previous if previous in LANGS else DEFAULT
    en, es = scores(text)
    if abs(en - es) >= 2 or (min(en, es) == 0 and max(en, es) > 0):
        return "en" if en > es else "es"
    letters = sum(ch.isalpha() for ch in text)
    if detector is not None and letters >= _MIN_LETTERS_FOR_DETECTOR:
        lang, confidence = detector(text)
        if lang in LANGS and confidence >= 0.6:
            return lang
    if en != es:
        return "en" if en > es else "es"
    return fallback


@lru_cache(maxsize=1)
def _py3langid() -> Detector:
    # imported here, on first use: loading the model takes about a second
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    identifier.set_languages(list(LANGS))

    def detect(text: str) -> tuple[str, float]:
        lang, confidence = identifier.classify(text)
        return str(lang), float(confidence)

    return detect


# markup is no language: a pasted script or tag says nothing about the patient's
_MARKUP = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>|<[^>]{0,200}>", re.I | re.S)
# nor are the letters of a base64 blob: the words it decodes to are, when nothing else says
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def _decoded(blob: str) -> str | None:
    """The words a base64 blob decodes to, or None when it is no encoded text."""
    try:
        words = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return words if words.isprintable() and " " in words.strip() else None


def detect_language(text: str, previous: str | None = None) -> str:
    """Return "en" or "es" for one patient message; one too short to tell keeps `previous`."""
    hidden: list[str] = []

    def _cut(match: re.Match[str]) -> str:
        words = _decoded(match.group(0))
        if words is None:
            return match.group(0)
        hidden.append(words)
        return " "

    visible = _BASE64.sub(_cut, _MARKUP.sub(" ", text))
    if hidden and not any(scores(visible)):  # nothing but the blob says which language
        visible = " ".join([visible, *hidden])
    return decide(visible, previous, _lazy_detector)


def _lazy_detector(text: str) -> tuple[str, float]:
    return _py3langid()(text)
