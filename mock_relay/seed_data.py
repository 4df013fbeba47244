# ruff: noqa: E501
"""The synthetic data set: municipalities (real 団体コード) and made-up residents (no real people).

Town names in addresses are real; block numbers, people, mayors and 本籍 are invented.
``seed.py`` turns these rows into model objects; keep this file data only.
"""

from __future__ import annotations

from datetime import date, time

from mock_relay.model import CertType, Municipality, Offering, ServiceHours

T = CertType

CHIYODA, YOKOHAMA_NAKA, SAPPORO_CHUO, OSAKA_KITA, OHIRA = "131016", "141011", "011011", "271276", "044245"
KYOTO_KAMIGYO = "261025"  # a 本籍地 that is not in the data set (not participating)


def _offers(*rows: tuple[CertType, int]) -> tuple[Offering, ...]:
    return tuple(Offering(t, fee, 10) for t, fee in rows)


MUNICIPALITIES: tuple[Municipality, ...] = (
    Municipality(
        code=CHIYODA, name="千代田区", prefecture="東京都", mayor_title="千代田区長", mayor_name="架空　一郎",
        offerings=_offers((T.JUMINHYO, 200), (T.JUMINHYO_KISAI, 200), (T.INKAN, 200), (T.KOSEKI_ZENBU, 350),
                          (T.KOSEKI_KOJIN, 350), (T.FUHYO, 200), (T.SHOTOKU_KAZEI, 200), (T.NOZEI, 200)),
        koseki_hours=ServiceHours(time(9, 0), time(17, 0), weekdays_only=True),
        tax_years=1, tax_switch=(6, 1),
    ),
    Municipality(
        code=YOKOHAMA_NAKA, name="横浜市中区", prefecture="神奈川県", mayor_title="横浜市中区長",
        mayor_name="見本　港子",
        offerings=_offers((T.JUMINHYO, 300), (T.JUMINHYO_KISAI, 300), (T.INKAN, 300), (T.KOSEKI_ZENBU, 450),
                          (T.KOSEKI_KOJIN, 450), (T.FUHYO, 300), (T.SHOTOKU_KAZEI, 300)),
        my_number_printing=True, maintenance_days=(date(2027, 2, 14),), tax_years=2, tax_switch=(6, 1),
    ),
    Municipality(
        code=SAPPORO_CHUO, name="札幌市中央区", prefecture="北海道", mayor_title="札幌市中央区長",
        mayor_name="仮名　北斗",
        offerings=_offers((T.JUMINHYO, 250), (T.JUMINHYO_KISAI, 250), (T.INKAN, 250), (T.KOSEKI_ZENBU, 450),
                          (T.KOSEKI_KOJIN, 450), (T.FUHYO, 250), (T.SHOTOKU_KAZEI, 250), (T.KAZEI, 250)),
        koseki_hours=ServiceHours(time(8, 45), time(21, 0)), tax_years=3, tax_switch=(6, 10),
    ),
    Municipality(
        code=OSAKA_KITA, name="大阪市北区", prefecture="大阪府", mayor_title="大阪市北区長", mayor_name="試験　浪速",
        offerings=_offers((T.JUMINHYO, 300), (T.JUMINHYO_KISAI, 300), (T.INKAN, 300), (T.KOSEKI_ZENBU, 450),
                          (T.KOSEKI_KOJIN, 450), (T.SHOTOKU_KAZEI, 300)),
        tax_years=1, tax_switch=(6, 1), honseki_service=True,
    ),
    Municipality(
        code=OHIRA, name="黒川郡大衡村", prefecture="宮城県", mayor_title="大衡村長", mayor_name="模擬　杜夫",
        offerings=_offers((T.JUMINHYO, 200), (T.INKAN, 200), (T.SHOTOKU_KAZEI, 200)),
        maintenance_days=(date(2026, 12, 6),), tax_years=1, tax_switch=(6, 1),
        refuse_same_day_reissue=False, honseki_service=False,
    ),
)  # fmt: skip

# Households: id -> (municipality, address, previous address, moved-in date)
HOUSEHOLDS: dict[str, tuple[str, str, str, date]] = {
    "H-C01": (CHIYODA, "東京都千代田区神田小川町三丁目１２番地７", "東京都新宿区西早稲田一丁目２番３号", date(2012, 4, 1)),
    "H-C02": (CHIYODA, "東京都千代田区九段南四丁目５番６号", "神奈川県横浜市中区本町二丁目８番地", date(2015, 10, 20)),
    "H-C03": (CHIYODA, "東京都千代田区神田神保町二丁目４番地１", "非公開", date(2022, 7, 1)),
    "H-C04": (CHIYODA, "東京都千代田区飯田橋一丁目９番２号", "埼玉県さいたま市浦和区高砂一丁目１番１号", date(2019, 3, 15)),
    "H-C05": (CHIYODA, "東京都千代田区内神田二丁目１５番地３", "千葉県千葉市中央区富士見二丁目３番地", date(2008, 6, 1)),
    "H-Y01": (YOKOHAMA_NAKA, "神奈川県横浜市中区山下町１２３番地", "東京都港区芝五丁目３番地２", date(1999, 5, 10)),
    "H-Y02": (YOKOHAMA_NAKA, "神奈川県横浜市中区元町三丁目４５番地", "東京都千代田区九段南四丁目５番６号", date(2020, 9, 1)),
    "H-Y03": (YOKOHAMA_NAKA, "神奈川県横浜市中区山手町７７番地", "英国", date(2021, 4, 5)),
    "H-Y04": (YOKOHAMA_NAKA, "神奈川県横浜市中区本牧町一丁目２３番地", "京都府京都市上京区今出川町１番地", date(2016, 2, 1)),
    "H-Y05": (YOKOHAMA_NAKA, "神奈川県横浜市中区伊勢佐木町五丁目６番地", "神奈川県川崎市川崎区砂子一丁目１番地", date(1990, 1, 8)),
    "H-Y06": (YOKOHAMA_NAKA, "神奈川県横浜市中区長者町八丁目９番地", "静岡県静岡市葵区追手町１番地", date(2011, 11, 11)),
    "H-S01": (SAPPORO_CHUO, "北海道札幌市中央区北一条西十八丁目２番地３", "北海道小樽市花園一丁目１番地", date(1985, 6, 1)),
    "H-S02": (SAPPORO_CHUO, "北海道札幌市中央区南三条西五丁目１６番地", "北海道旭川市六条通七丁目", date(2014, 4, 1)),
    "H-S03": (SAPPORO_CHUO, "北海道札幌市中央区大通西十丁目４番地１", "東京都千代田区神田小川町三丁目１２番地７", date(2026, 4, 1)),
    "H-O01": (OSAKA_KITA, "大阪府大阪市北区天神橋四丁目８番１５号", "大阪府堺市堺区南瓦町３番地", date(2010, 8, 1)),
    "H-O02": (OSAKA_KITA, "大阪府大阪市北区梅田二丁目５番２５号", "東京都千代田区飯田橋一丁目９番２号", date(2018, 1, 10)),
    "H-O03": (OSAKA_KITA, "大阪府大阪市北区中崎西一丁目７番地", "兵庫県神戸市中央区加納町六丁目", date(2003, 3, 3)),
    "H-V01": (OHIRA, "宮城県黒川郡大衡村大衡字中央１２３番地", "宮城県仙台市青葉区国分町三丁目", date(1988, 4, 1)),
    "H-V02": (OHIRA, "宮城県黒川郡大衡村大瓜字北沢４５番地", "北海道札幌市中央区南三条西五丁目１６番地", date(2017, 7, 7)),
}  # fmt: skip

# Koseki: id -> (本籍地 code, 本籍, 筆頭者)
KOSEKI: dict[str, tuple[str, str, str]] = {
    "K-C01": (CHIYODA, "東京都千代田区神田小川町三丁目１２番地", "山田　太郎"),
    "K-Y02": (YOKOHAMA_NAKA, "神奈川県横浜市中区本町二丁目８番地", "佐藤　健一"),
    "K-C03": (CHIYODA, "東京都千代田区神田神保町二丁目４番地", "鈴木　一郎"),
    "K-C04": (CHIYODA, "東京都千代田区飯田橋一丁目９番地", "高橋　誠"),
    "K-C05": (CHIYODA, "東京都千代田区内神田二丁目１５番地", "渡辺　健"),
    "K-Y01": (YOKOHAMA_NAKA, "神奈川県横浜市中区山下町１２３番地", "中村　大輔"),
    "K-C02": (CHIYODA, "東京都千代田区九段南四丁目５番地", "小林　さくら"),
    "K-KY1": (KYOTO_KAMIGYO, "京都府京都市上京区今出川町１番地", "林　健太"),
    "K-Y05": (YOKOHAMA_NAKA, "神奈川県横浜市中区伊勢佐木町五丁目６番地", "清水　正"),
    "K-Y06": (YOKOHAMA_NAKA, "神奈川県横浜市中区長者町八丁目９番地", "森　和也"),
    "K-S01": (SAPPORO_CHUO, "北海道札幌市中央区北一条西十八丁目２番地", "加藤　誠一"),
    "K-S02": (SAPPORO_CHUO, "北海道札幌市中央区北一条西十八丁目２番地", "加藤　健"),
    "K-S03": (SAPPORO_CHUO, "北海道札幌市中央区南三条西五丁目１６番地", "斎藤　亮"),
    "K-S04": (CHIYODA, "東京都千代田区神田小川町三丁目１２番地", "吉田　紗希"),
    "K-O01": (OSAKA_KITA, "大阪府大阪市北区天神橋四丁目８番地", "松本　剛"),
    "K-O02": (CHIYODA, "東京都千代田区飯田橋一丁目９番地", "井上　聡"),
    "K-O03": (OSAKA_KITA, "大阪府大阪市北区中崎西一丁目７番地", "木村　千尋"),
    "K-V01": (OHIRA, "宮城県黒川郡大衡村大衡字中央１２３番地", "佐々木　勉"),
    "K-V02": (SAPPORO_CHUO, "北海道札幌市中央区南三条西五丁目１６番地", "千葉　正"),
}  # fmt: skip

# Residents: (id, household, 続柄, family, given, family kana, given kana, birth, sex,
#             koseki id | None, father, mother, 父母との続柄, 夫/妻 | None, income (0 = no tax rows), extras)
# extras keys: seal ("registered"/"abolished"), reg (利用登録 date), status, status_date, support, foreign.
ResidentRow = tuple[str, str, str, str, str, str, str, date, str, str | None, str, str, str, str | None, int,
                    dict[str, object]]  # fmt: skip

RESIDENTS: tuple[ResidentRow, ...] = (
    ("C-001", "H-C01", "本人", "山田", "太郎", "やまだ", "たろう", date(1980, 6, 15), "男", "K-C01", "山田　一夫", "山田　春子", "長男", "夫", 6_200_000, {"seal": "registered"}),
    ("C-002", "H-C01", "妻", "山田", "花子", "やまだ", "はなこ", date(1982, 9, 3), "女", "K-C01", "田中　実", "田中　秋子", "長女", "妻", 2_400_000, {"seal": "abolished"}),
    ("C-003", "H-C01", "子", "山田", "翔太", "やまだ", "しょうた", date(2014, 5, 10), "男", "K-C01", "山田　太郎", "山田　花子", "長男", None, 0, {}),
    ("C-004", "H-C01", "子", "山田", "美咲", "やまだ", "みさき", date(2010, 8, 1), "女", "K-C01", "山田　太郎", "山田　花子", "長女", None, 0, {}),
    ("C-005", "H-C02", "本人", "佐藤", "健一", "さとう", "けんいち", date(1975, 2, 28), "男", "K-Y02", "佐藤　茂", "佐藤　静子", "長男", "夫", 8_100_000, {"seal": "registered", "reg": date(2024, 5, 20)}),
    ("C-006", "H-C02", "妻", "佐藤", "由美", "さとう", "ゆみ", date(1977, 12, 1), "女", "K-Y02", "中島　博", "中島　和代", "二女", "妻", 1_100_000, {}),
    ("C-007", "H-C03", "本人", "鈴木", "一郎", "すずき", "いちろう", date(1988, 3, 21), "男", "K-C03", "鈴木　勝", "鈴木　文子", "長男", None, 4_300_000, {"support": True, "seal": "registered"}),
    ("C-008", "H-C04", "本人", "高橋", "誠", "たかはし", "まこと", date(1970, 10, 10), "男", "K-C04", "高橋　浩", "高橋　節子", "二男", None, 5_000_000, {"seal": "registered"}),
    ("C-009", "H-C04", "子", "高橋", "亮介", "たかはし", "りょうすけ", date(1999, 1, 30), "男", "K-C04", "高橋　誠", "高橋　久美", "長男", None, 3_000_000, {"status": "moved_out", "status_date": date(2026, 3, 31)}),
    ("C-010", "H-C05", "本人", "渡辺", "健", "わたなべ", "けん", date(1965, 7, 7), "男", "K-C05", "渡辺　功", "渡辺　トシ", "長男", "夫", 7_000_000, {"status": "moved_out", "status_date": date(2027, 3, 31), "seal": "registered"}),
    ("C-011", "H-C05", "妻", "渡辺", "陽子", "わたなべ", "ようこ", date(1967, 4, 4), "女", "K-C05", "石井　守", "石井　光子", "長女", "妻", 900_000, {"seal": "registered"}),
    ("Y-001", "H-Y01", "本人", "中村", "大輔", "なかむら", "だいすけ", date(1968, 11, 23), "男", "K-Y01", "中村　清", "中村　ハナ", "長男", "夫", 9_500_000, {"seal": "registered"}),
    ("Y-002", "H-Y01", "妻", "中村", "恵子", "なかむら", "けいこ", date(1970, 1, 17), "女", "K-Y01", "岡田　進", "岡田　民子", "長女", "妻", 0, {}),
    ("Y-003", "H-Y01", "子", "中村", "拓海", "なかむら", "たくみ", date(1996, 7, 30), "男", "K-Y01", "中村　大輔", "中村　恵子", "長男", None, 3_600_000, {"seal": "registered"}),
    ("Y-004", "H-Y02", "本人", "小林", "さくら", "こばやし", "さくら", date(1991, 4, 2), "女", "K-C02", "小林　修", "小林　良子", "長女", None, 4_800_000, {"reg": date(2025, 4, 10), "seal": "registered"}),
    ("Y-005", "H-Y03", "本人", "WILLIAMS", "EMILY ROSE", "ウィリアムズ", "エミリー　ローズ", date(1993, 8, 19), "女", None, "", "", "", None, 5_200_000, {"seal": "registered", "foreign": ("英国", "AB12345678CD", "技術・人文知識・国際業務", "5年", date(2029, 4, 30))}),
    ("Y-006", "H-Y04", "本人", "林", "健太", "はやし", "けんた", date(1985, 5, 5), "男", "K-KY1", "林　茂樹", "林　幸恵", "長男", None, 4_100_000, {"reg": date(2023, 1, 12)}),
    ("Y-007", "H-Y05", "本人", "清水", "正", "しみず", "ただし", date(1941, 9, 9), "男", "K-Y05", "清水　源", "清水　キク", "長男", "夫", 2_000_000, {"status": "deceased", "status_date": date(2026, 2, 14), "seal": "registered"}),
    ("Y-008", "H-Y05", "本人", "清水", "久子", "しみず", "ひさこ", date(1945, 3, 3), "女", "K-Y05", "村上　亀吉", "村上　ウメ", "三女", "妻", 1_500_000, {"seal": "registered"}),
    ("Y-009", "H-Y06", "本人", "森", "和也", "もり", "かずや", date(1983, 12, 24), "男", "K-Y06", "森　義男", "森　雅子", "長男", None, 5_500_000, {"seal": "registered"}),
    ("S-001", "H-S01", "本人", "加藤", "誠一", "かとう", "せいいち", date(1950, 1, 20), "男", "K-S01", "加藤　栄作", "加藤　トメ", "長男", "夫", 3_200_000, {"seal": "registered"}),
    ("S-002", "H-S01", "妻", "加藤", "和子", "かとう", "かずこ", date(1952, 6, 6), "女", "K-S01", "三浦　勇", "三浦　房子", "長女", "妻", 800_000, {}),
    ("S-003", "H-S01", "母", "加藤", "トメ", "かとう", "とめ", date(1929, 2, 11), "女", "K-S01", "前田　辰次郎", "前田　イネ", "四女", None, 600_000, {}),
    ("S-004", "H-S01", "子", "加藤", "健", "かとう", "けん", date(1978, 10, 1), "男", "K-S02", "加藤　誠一", "加藤　和子", "長男", "夫", 6_800_000, {"seal": "registered"}),
    ("S-005", "H-S01", "子の妻", "加藤", "真理", "かとう", "まり", date(1980, 12, 12), "女", "K-S02", "原田　豊", "原田　恵美", "長女", "妻", 2_100_000, {}),
    ("S-006", "H-S01", "孫", "加藤", "陽菜", "かとう", "ひな", date(2005, 4, 1), "女", "K-S02", "加藤　健", "加藤　真理", "長女", None, 1_200_000, {}),
    ("S-007", "H-S01", "孫", "加藤", "蓮", "かとう", "れん", date(2008, 9, 15), "男", "K-S02", "加藤　健", "加藤　真理", "長男", None, 0, {}),
    ("S-008", "H-S01", "孫", "加藤", "結衣", "かとう", "ゆい", date(2012, 11, 30), "女", "K-S02", "加藤　健", "加藤　真理", "二女", None, 0, {}),
    ("S-009", "H-S02", "本人", "斎藤", "亮", "さいとう", "りょう", date(1987, 2, 2), "男", "K-S03", "斎藤　勉", "斎藤　洋子", "長男", None, 3_900_000, {}),
    ("S-010", "H-S03", "本人", "吉田", "紗希", "よしだ", "さき", date(1994, 6, 30), "女", "K-S04", "吉田　誠司", "吉田　真弓", "長女", None, 0, {"seal": "registered", "reg": date(2026, 4, 20)}),
    ("O-001", "H-O01", "本人", "松本", "剛", "まつもと", "つよし", date(1979, 3, 9), "男", "K-O01", "松本　隆", "松本　由紀", "長男", "夫", 5_800_000, {"seal": "registered"}),
    ("O-002", "H-O01", "妻", "松本", "あや", "まつもと", "あや", date(1983, 7, 21), "女", "K-O01", "森田　修一", "森田　佳子", "長女", "妻", 1_800_000, {"seal": "registered"}),
    ("O-003", "H-O01", "子", "松本", "悠斗", "まつもと", "ゆうと", date(2016, 2, 29), "男", "K-O01", "松本　剛", "松本　あや", "長男", None, 0, {}),
    ("O-004", "H-O02", "本人", "井上", "聡", "いのうえ", "さとし", date(1972, 8, 8), "男", "K-O02", "井上　博之", "井上　照子", "長男", None, 6_000_000, {"reg": date(2019, 2, 1)}),
    ("O-005", "H-O03", "本人", "木村", "千尋", "きむら", "ちひろ", date(1998, 10, 31), "女", "K-O03", "木村　光男", "木村　幸代", "長女", None, 950_000, {"seal": "registered"}),
    ("V-001", "H-V01", "本人", "佐々木", "勉", "ささき", "つとむ", date(1960, 4, 29), "男", "K-V01", "佐々木　寛", "佐々木　キヨ", "長男", "夫", 3_300_000, {"seal": "registered"}),
    ("V-002", "H-V01", "妻", "佐々木", "幸子", "ささき", "さちこ", date(1962, 5, 3), "女", "K-V01", "遠藤　伝", "遠藤　ミツ", "二女", "妻", 700_000, {}),
    ("V-003", "H-V02", "本人", "千葉", "正", "ちば", "ただし", date(1958, 1, 1), "男", "K-V02", "千葉　誠一郎", "千葉　フミ", "長男", None, 2_700_000, {"reg": date(2020, 10, 1), "seal": "registered"}),
)  # fmt: skip

# Residents who already received a certificate "today" whenever the registry is opened (for live demos).
ISSUED_TODAY: tuple[tuple[str, CertType], ...] = (("Y-009", T.JUMINHYO),)
