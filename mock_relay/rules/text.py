"""Japanese and English texts of every refusal code (internal to ``rules``)."""

from __future__ import annotations

from collections.abc import Mapping

from mock_relay.model import Refusal

MESSAGES: Mapping[str, tuple[str, str]] = {
    "out_of_hours": (
        "ご利用時間は6時30分から23時までです。",
        "The service is available from 06:30 to 23:00 JST.",
    ),
    "year_end_closure": (
        "12月29日から1月3日まではご利用いただけません。",
        "The service is closed from 29 Dec to 3 Jan.",
    ),
    "maintenance": (
        "{name}はシステム保守のため本日はご利用いただけません。",
        "{name} is closed today for system maintenance.",
    ),
    "koseki_out_of_hours": (
        "戸籍・附票の証明書は{hours}のみ発行できます。",
        "Family-register certificates are issued {hours_en} only.",
    ),
    "under_15": ("15歳未満の方はご利用いただけません。", "Residents under 15 cannot use this service."),
    "moved_out": (
        "転出された方（転出届を提出された方）はご利用いただけません。",
        "Residents who moved out or filed a move-out cannot use this service.",
    ),
    "deceased": ("この記録は消除されています。", "This resident record has been closed (deceased)."),
    "support_measure": (
        "この方の証明書はコンビニ交付では発行できません。窓口へお越しください。",
        "Certificates for this resident cannot be issued at a kiosk; please visit the city office.",
    ),
    "moved_in_today": (
        "転入当日はご利用いただけません。翌日以降にご利用ください。",
        "Not available on the day of moving in; please use it from tomorrow.",
    ),
    "unknown_resident": ("住民記録が見つかりません。", "No resident record for this card."),
    "card_not_bound": ("このカードは登録されていません。", "This card is not registered with a resident."),
    "form_not_accepted": (
        "この端末ではスマートフォンの電子証明書はご利用いただけません。マイナンバーカードをお使いください。",
        "This terminal does not accept this form of certificate (smartphone); please use your card.",
    ),
    "issued_today": (
        "この証明書は本日すでに発行されています。",
        "This certificate was already issued to you today.",
    ),
    "household_move_out": (
        "世帯に転出予定の方がいるため、住民票は発行できません。",
        "The household includes a pending move-out; certificates of residence cannot be issued.",
    ),
    "not_registered_honseki": (
        "本籍地の証明書には事前の利用登録申請が必要です。",
        "Certificates from your 本籍地 need prior usage registration (利用登録).",
    ),
    "honseki_already_registered": (
        "本籍地の証明書の利用登録はすでに済んでいます。「本籍地の証明書」からお選びください。",
        "You are already registered for certificates from your 本籍地; use the 本籍地 menu.",
    ),
    "registration_pending": (
        "利用登録の手続き中です（{date}からご利用いただけます）。",
        "Usage registration is being processed (usable from {date}).",
    ),
    "honseki_same_as_residence": (
        "本籍地とお住まいの市区町村が同じです。「お住まいの市区町村の証明書」からお選びください。",
        "Your 本籍 is in your municipality of residence; use the residence menu.",
    ),
    "honseki_not_participating": (
        "本籍地の市区町村はコンビニ交付（本籍地）に対応していません。",
        "Your 本籍地 does not offer certificates at kiosks.",
    ),
    "no_koseki": ("戸籍の記録がありません。", "You have no family register (戸籍) in Japan."),
    "tax_cardholder_only": (
        "税証明書はご本人の分のみ発行できます。",
        "Tax certificates can be issued for the cardholder only.",
    ),
    "tax_year_not_offered": (
        "その年度の税証明書は発行できません。",
        "Tax certificates for that fiscal year are not offered.",
    ),
    "no_tax_record": ("発行できる課税資料がありません。", "There is no tax record to certify."),
    "seal_not_registered": ("印鑑登録がありません。", "No seal is registered."),
    "seal_abolished": ("印鑑登録は廃止されています。", "The seal registration has been abolished."),
    "seal_cardholder_only": (
        "印鑑登録証明書はご本人の分のみ発行できます。",
        "Seal certificates can be issued for the cardholder only.",
    ),
    "copies_exceeded": (
        "一度に発行できるのは{max}通までです。",
        "At most {max} copies of one certificate type per order.",
    ),
    "invalid_copies": ("部数が正しくありません。", "The number of copies must be a positive integer."),
    "too_many_items": ("一度に申請できる証明書は{max}件までです。", "At most {max} items per order."),
    "order_too_large": (
        "一度に発行できるのは合計{max}通までです。",
        "At most {max} copies per order.",
    ),
    "empty_order": ("証明書が選ばれていません。", "No certificate was chosen."),
    "type_not_offered": ("この証明書は発行できません。", "This certificate is not offered here."),
    "option_not_allowed": (
        "選べない項目が含まれています（{key}）。",
        "Option {key!r} is not available for this certificate.",
    ),
    "invalid_option": ("項目の値が正しくありません（{key}）。", "Option {key!r} has an invalid value."),
    "invalid_item": ("申請内容が正しくありません。", "Malformed order item."),
    "not_in_household": ("同じ世帯の方のみ選べます。", "Only members of your household can be chosen."),
    "not_in_koseki": ("同じ戸籍の方のみ選べます。", "Only people in your family register can be chosen."),
}


def refusal(code: str, **fields: object) -> Refusal:
    """A Refusal for ``code`` with its texts formatted with ``fields``.

    Raises:
        KeyError: unknown code (a programming error).
    """
    ja, en = MESSAGES[code]
    return Refusal(code, ja.format(**fields), en.format(**fields))
