"""Virtual smartphones holding the JPKI smartphone certificate (スマホ用電子証明書), on the card OS.

``android.py`` is the documented Android phone (token ``JPKIAPGPSETOKEN``, auth certificate readable only
after the auth PIN); ``iphone.py`` is the iPhone, every behaviour of which is an assumption kept in that
one module (docs/card.md §11.2); ``load.py`` opens a card or a phone from its image by the image's form.
"""
