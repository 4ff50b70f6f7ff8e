"""The second factor's code forms."""

from __future__ import annotations

from django import forms

from users.second_factor import RECOVERY_CODE, TOTP_CODE


def _normalise(value: str) -> str:
    # People type codes as "123 456" or copy "abcd-efgh" from the recovery sheet.
    return "".join(value.split()).replace("-", "").lower()


class SignInCodeForm(forms.Form):
    """The code of the second step: 6 digits from the app, or a recovery code."""

    code = forms.CharField(max_length=32)

    def clean_code(self) -> str:
        code = _normalise(self.cleaned_data["code"])
        if not (TOTP_CODE.fullmatch(code) or RECOVERY_CODE.fullmatch(code)):
            raise forms.ValidationError(
                "Enter the 6-digit code from your app, or one of your recovery codes."
            )
        return code


class SetupCodeForm(forms.Form):
    """The first code the new app shows, which proves it holds the key."""

    code = forms.CharField(max_length=32)

    def clean_code(self) -> str:
        code = _normalise(self.cleaned_data["code"])
        if not TOTP_CODE.fullmatch(code):
            raise forms.ValidationError("Enter the 6-digit code your app shows.")
        return code
