"""The virtual card's 券面事項確認AP, the card face (docs/card.md §6.1).

``ap.py`` is the AP: its read rules and key references over a card image; ``data.py`` builds the contents
of its files and the codes that open it (照合番号A/B, the birth-date key).
"""
