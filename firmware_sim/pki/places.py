"""Place names for the test PKI and holders: the 47 prefectures (JIS X 0401 order) and a few municipalities.

The sign certificate's subject carries the holder's locality romanised (a JPKI test card shows
"Kiyose-shi"; docs/card.md §7.2), so a small table of municipalities (全国地方公共団体コード, 6 digits
with check digit) maps codes to Japanese and romanised names. Municipalities not listed here fall
back to the Japanese name from the address.
"""

from __future__ import annotations

# (Japanese, romanised), index + 1 = prefecture code (the first two digits of a 団体コード).
PREFECTURES: tuple[tuple[str, str], ...] = (
    ("北海道", "Hokkaido"),
    ("青森県", "Aomori-ken"),
    ("岩手県", "Iwate-ken"),
    ("宮城県", "Miyagi-ken"),
    ("秋田県", "Akita-ken"),
    ("山形県", "Yamagata-ken"),
    ("福島県", "Fukushima-ken"),
    ("茨城県", "Ibaraki-ken"),
    ("栃木県", "Tochigi-ken"),
    ("群馬県", "Gunma-ken"),
    ("埼玉県", "Saitama-ken"),
    ("千葉県", "Chiba-ken"),
    ("東京都", "Tokyo-to"),
    ("神奈川県", "Kanagawa-ken"),
    ("新潟県", "Niigata-ken"),
    ("富山県", "Toyama-ken"),
    ("石川県", "Ishikawa-ken"),
    ("福井県", "Fukui-ken"),
    ("山梨県", "Yamanashi-ken"),
    ("長野県", "Nagano-ken"),
    ("岐阜県", "Gifu-ken"),
    ("静岡県", "Shizuoka-ken"),
    ("愛知県", "Aichi-ken"),
    ("三重県", "Mie-ken"),
    ("滋賀県", "Shiga-ken"),
    ("京都府", "Kyoto-fu"),
    ("大阪府", "Osaka-fu"),
    ("兵庫県", "Hyogo-ken"),
    ("奈良県", "Nara-ken"),
    ("和歌山県", "Wakayama-ken"),
    ("鳥取県", "Tottori-ken"),
    ("島根県", "Shimane-ken"),
    ("岡山県", "Okayama-ken"),
    ("広島県", "Hiroshima-ken"),
    ("山口県", "Yamaguchi-ken"),
    ("徳島県", "Tokushima-ken"),
    ("香川県", "Kagawa-ken"),
    ("愛媛県", "Ehime-ken"),
    ("高知県", "Kochi-ken"),
    ("福岡県", "Fukuoka-ken"),
    ("佐賀県", "Saga-ken"),
    ("長崎県", "Nagasaki-ken"),
    ("熊本県", "Kumamoto-ken"),
    ("大分県", "Oita-ken"),
    ("宮崎県", "Miyazaki-ken"),
    ("鹿児島県", "Kagoshima-ken"),
    ("沖縄県", "Okinawa-ken"),
)

# 団体コード -> (市区町村 as written after the prefecture, romanised).
MUNICIPALITIES: dict[str, tuple[str, str]] = {
    "011011": ("札幌市中央区", "Sapporo-shi Chuo-ku"),
    "041017": ("仙台市青葉区", "Sendai-shi Aoba-ku"),
    "121011": ("千葉市中央区", "Chiba-shi Chuo-ku"),
    "131016": ("千代田区", "Chiyoda-ku"),
    "131041": ("新宿区", "Shinjuku-ku"),
    "131130": ("渋谷区", "Shibuya-ku"),
    "132012": ("八王子市", "Hachioji-shi"),
    "132217": ("清瀬市", "Kiyose-shi"),
    "141038": ("横浜市中区", "Yokohama-shi Naka-ku"),
    "231061": ("名古屋市中区", "Nagoya-shi Naka-ku"),
    "261041": ("京都市中京区", "Kyoto-shi Nakagyo-ku"),
    "271284": ("大阪市中央区", "Osaka-shi Chuo-ku"),
    "341011": ("広島市中区", "Hiroshima-shi Naka-ku"),
    "401331": ("福岡市中央区", "Fukuoka-shi Chuo-ku"),
    "472018": ("那覇市", "Naha-shi"),
}


def municipality_romaji(code: str) -> str | None:
    """Romanised name of a listed municipality, or None."""
    entry = MUNICIPALITIES.get(code)
    return entry[1] if entry else None


def municipality_code_for(prefecture: str, city: str) -> str | None:
    """The 団体コード of a listed municipality given its prefecture and 市区町村, or None."""
    for code, (name, _romaji) in MUNICIPALITIES.items():
        if name == city and PREFECTURES[int(code[:2]) - 1][0] == prefecture:
            return code
    return None
