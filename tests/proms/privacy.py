"""Looking for a patient's details in what the patient pages and messages show, without being
fooled by the random tokens they also carry (a CSRF token or a link may contain "L2")."""

import re

_RANDOM = (
    re.compile(r'value="[^"]*"'),  # hidden inputs: the CSRF token
    re.compile(r"/q/[\w-]+/"),  # the questionnaire links' tokens
)


def shows(text: str, secret: str) -> bool:
    """Does ``secret`` appear in ``text`` as a word of its own, random tokens aside?"""
    for pattern in _RANDOM:
        text = pattern.sub(" ", text)
    return re.search(rf"(?<![\w-]){re.escape(secret)}(?![\w-])", text) is not None
