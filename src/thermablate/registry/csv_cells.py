"""Text safe to put in a CSV cell that a spreadsheet will open.

A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read as a formula by
Excel, LibreOffice and Google Sheets, so free text typed into a record (``=HYPERLINK(...)``)
could run when an auditor opens a download (OWASP, "CSV Injection",
https://owasp.org/www-community/attacks/CSV_Injection). Such text gets a leading single quote,
which spreadsheets show as text. One rule for every CSV the application writes: the audit
trail's download here, and the audit app's exports (which apply it to their text columns only).
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralised(value) -> str:
    """``value`` as text a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text
