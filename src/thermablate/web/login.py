"""The sign-in form: Django's, with the user name's length checked before authentication.

Django's AuthenticationForm copies the user model's max_length onto the field and the HTML
``maxlength`` attribute but adds no validator, so any length reaches ``authenticate()``.
A failed sign-in is then recorded by django-axes in a 255-character column, which PostgreSQL
refuses for a longer name: the page answered 500. No account can have a longer name, so
such a sign-in is refused as a form error and no password is checked.
"""

from django.contrib.auth.forms import AuthenticationForm
from django.core.validators import MaxLengthValidator


class SignInForm(AuthenticationForm):
    def __init__(self, request=None, *args, **kwargs):
        super().__init__(request, *args, **kwargs)
        limit = self.username_field.max_length
        # A field validator runs before clean(), so authenticate() (and axes) never sees it.
        self.fields["username"].validators.append(
            MaxLengthValidator(limit, message=f"A user name has at most {limit} characters.")
        )
