"""The virtual card's 券面事項入力補助AP (docs/card.md §6).

``ap.py`` is the AP: its read rules and key references over a card image; ``data.py`` builds the contents
of its files for a holder (the 基本4情報 structure itself is the product's, ``reader/basic_info.py``).
"""
