"""What a request may ask: its fields read with checks, and the error a bad one becomes.

Every check names the field and echoes the value ("beam: expected an integer in 1..8, got 0"),
as the command line's do; the server answers an `InputError` with its message as JSON and its
HTTP status (400 unless said otherwise), and the page shows the message.
"""

MAX_TEXT_CHARACTERS = 20_000  # beyond a field's own word limit: a paste of a book is refused early


class InputError(Exception):
    """Bad input from the page: the message it shows, and the HTTP status of the answer.

    Args:
        message: str, one line.
        status: int, 4xx. Defaults to 400.
    """

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


class Fields:
    """A request's fields (a JSON object or a form), read by name with checks.

    Args:
        values: a mapping of field names to values (str from a form, any JSON value from JSON).
    """

    def __init__(self, values):
        self.values = values if values is not None else {}
        if not hasattr(self.values, "get"):
            raise InputError("expected a JSON object or a form")

    def text(self, name, max_words, required=True, max_characters=MAX_TEXT_CHARACTERS):
        """A string of at most `max_words` words; empty (or all spaces) is an error when `required`."""
        value = self.values.get(name, "")
        if value is None:
            value = ""
        if not isinstance(value, str):
            raise InputError(f"{name}: expected text, got {type(value).__name__}")
        if required and not value.strip():
            raise InputError(f"{name}: nothing to read: type some text")
        words = len(value.split())
        if words > max_words or len(value) > max_characters:
            raise InputError(f"{name}: too long ({words:,} words, {len(value):,} characters): at most "
                             f"{max_words:,} words and {max_characters:,} characters")
        return value

    def integer(self, name, default, low, high):
        return self._number(name, default, low, high, int, "an integer")

    def number(self, name, default, low, high):
        return self._number(name, default, low, high, float, "a number")

    def choice(self, name, choices, default=None):
        value = self.values.get(name) or default
        if value not in choices:
            raise InputError(f"{name}: expected one of {', '.join(map(str, choices))}, got {value!r}")
        return value

    def _number(self, name, default, low, high, kind, noun):
        value = self.values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise InputError(f"{name}: expected {noun} in {low}..{high}, got {value!r}")
        try:
            number = kind(value)
            if kind is int and isinstance(value, float) and value != number:
                raise ValueError
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"{name}: expected {noun} in {low}..{high}, got {value!r}") from None
        if not low <= number <= high:  # also refuses NaN
            raise InputError(f"{name}: expected {noun} in {low}..{high}, got {value!r}")
        return number
