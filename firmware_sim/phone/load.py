"""Open a card or a phone from its image, by the form personalisation wrote into it (``meta.form``)."""

from __future__ import annotations

from pathlib import Path

from firmware_sim.card.image import CardImage
from firmware_sim.card.mynumber import CardOptions, MyNumberCard
from firmware_sim.phone.android import AndroidPhone
from firmware_sim.phone.iphone import IPhone, Unlock
from reader.constants import TokenForm

Device = MyNumberCard | AndroidPhone | IPhone
FORMS = (TokenForm.CARD, TokenForm.ANDROID, TokenForm.IPHONE)


def form_of(image: CardImage) -> TokenForm:
    """The image's form (``card`` when it names none). Raises ValueError for an unknown form."""
    return TokenForm(image.meta.get("form", TokenForm.CARD))


def open_device(path: Path | str, options: CardOptions | None = None, unlock: Unlock | None = None) -> Device:
    """The card or phone whose image is at ``path`` (``unlock`` is for an iPhone only).

    Raises CardImageError for a missing or bad image, ValueError for an unknown form.
    """
    image = CardImage.load(Path(path))
    form = form_of(image)
    if form is TokenForm.ANDROID:
        return AndroidPhone(image, options)
    if form is TokenForm.IPHONE:
        return IPhone(image, options, unlock)
    if form is TokenForm.CARD:
        return MyNumberCard(image, options)
    raise ValueError(f"{path}: no virtual device of form {form.value!r}")
