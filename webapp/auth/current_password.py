"""The current password a signed-in user gives to change it, delete the account, or turn
two-factor on or off."""

from webapp.models import User
from webapp.protection.rate_limits import count_password_check


def current_password_matches(user: User, password: str) -> bool:
    """Each check is a guess that holds a hashing slot: it counts with the account's sign-in
    attempts (429 when over), so a left-open session cannot guess without end."""
    count_password_check(user.email)
    return user.check_password(password)
