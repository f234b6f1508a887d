"""The one spelling of an e-mail address that accounts are stored and found by."""

from email_validator import EmailNotValidError, validate_email

MAX_EMAIL = 254


class InvalidEmail(ValueError):
    """Not an address mail could be sent to."""


def normalise_email(text: str) -> str:
    """email-validator's normal form (Unicode NFC, lower-case domain), then lower-cased
    whole: addresses are unique case-insensitively, and an NFD spelling is the same account."""
    if not isinstance(text, str) or len(text) > 4 * MAX_EMAIL:
        raise InvalidEmail("Enter an email address.")
    try:
        address = validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise InvalidEmail(str(error)) from None
    if len(address) > MAX_EMAIL:
        raise InvalidEmail(f"An email address has at most {MAX_EMAIL} characters.")
    return address.lower()
