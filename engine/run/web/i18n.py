"""Every user-visible text of the portal's own pages, in Mongolian (the default) and English.

Texts of services come from their definitions; these are the portal's frame around them.
"""

from __future__ import annotations

from engine.compile.model import I18n

LANGS = ("mn", "en")

TEXTS: dict[str, I18n] = {
    "portal": I18n("Төрийн цахим үйлчилгээ", "Government e-services"),
    "skip": I18n("Үндсэн агуулга руу шилжих", "Skip to main content"),
    "switch_lang": I18n("English", "Монгол"),
    "home": I18n("Нүүр", "Home"),
    "search": I18n("Хайх", "Search"),
    "search_label": I18n("Үйлчилгээ хайх", "Search for a service"),
    "search_hint": I18n("Кирилл эсвэл латинаар бичиж болно", "You can type in Cyrillic or Latin letters"),
    "results": I18n("Хайлтын үр дүн", "Search results"),
    "no_results": I18n("Үйлчилгээ олдсонгүй", "No services found"),
    "categories": I18n("Ангилал", "Categories"),
    "agencies": I18n("Байгууллага", "Agencies"),
    "all_services": I18n("Бүх үйлчилгээ", "All services"),
    "services_count": I18n("{n} үйлчилгээ", "{n} services"),
    "login": I18n("Нэвтрэх", "Sign in"),
    "logout": I18n("Гарах", "Sign out"),
    "my_applications": I18n("Миний өргөдлүүд", "My applications"),
    "start": I18n("Өргөдөл эхлүүлэх", "Start application"),
    "before_start": I18n("Эхлэхээс өмнө", "Before you start"),
    "documents_needed": I18n("Бүрдүүлэх баримт бичиг", "Documents you need"),
    "no_documents": I18n("Баримт бичиг шаардлагагүй", "No documents needed"),
    "from_registry": I18n("Төрийн мэдээллийн сангаас автоматаар авна", "Fetched from the state registry for you"),
    "fee": I18n("Төлбөр", "Fee"),
    "fee_total": I18n("Нийт төлбөр", "Total fee"),
    "free": I18n("Үнэгүй", "Free"),
    "fee_depends": I18n("Хариултаас хамаарна", "Depends on your answers"),
    "processing_time": I18n("Шийдвэрлэх хугацаа", "Processing time"),
    "working_days": I18n("{n} ажлын өдөр", "{n} working days"),
    "legal_basis": I18n("Хууль эрх зүйн үндэслэл", "Legal basis"),
    "agency": I18n("Байгууллага", "Agency"),
    "continue": I18n("Үргэлжлүүлэх", "Continue"),
    "back": I18n("Буцах", "Back"),
    "save_later": I18n("Хадгалаад дараа үргэлжлүүлэх", "Save and come back later"),
    "step": I18n("{n}/{total}-р алхам", "Step {n} of {total}"),
    "optional": I18n("(заавал биш)", "(optional)"),
    "error_title": I18n("Алдаа гарлаа", "There is a problem"),
    "error_prefix": I18n("Алдаа:", "Error:"),
    "more_questions": I18n(
        "Таны хариултаас хамааран нэмэлт асуулт гарч ирлээ.", "Your answers opened more questions below."
    ),
    "add_another": I18n("Дахин нэмэх", "Add another"),
    "remove": I18n("Хасах", "Remove"),
    "item_n": I18n("{label} {n}", "{label} {n}"),
    "update_options": I18n("Жагсаалтыг шинэчлэх", "Update the list"),
    "choose_first": I18n(
        "Эхлээд «{parent}»-ийг сонгоод жагсаалтыг шинэчилнэ үү", "Choose {parent} first, then update the list"
    ),
    "select_placeholder": I18n("Сонгоно уу", "Select"),
    "yes": I18n("Тийм", "Yes"),
    "no": I18n("Үгүй", "No"),
    "upload_title": I18n("Баримт бичиг хавсаргах", "Upload documents"),
    "upload": I18n("Хавсаргах", "Upload"),
    "choose_file": I18n("Файл сонгох", "Choose a file"),
    "accepted": I18n(
        "Зөвшөөрөгдөх төрөл: {types}; {size} МБ хүртэл; {count} хүртэл файл",
        "Accepted: {types}; up to {size} MB; up to {count} files",
    ),
    "required_doc": I18n("Заавал", "Required"),
    "optional_doc": I18n("Заавал биш", "Optional"),
    "uploaded": I18n("Хавсаргасан файлууд", "Uploaded files"),
    "upload_missing": I18n("«{doc}» баримтыг хавсаргана уу", "Upload {doc}"),
    "changed_since_start": I18n(
        "Таныг бөглөж эхэлснээс хойш энэ үйлчилгээнд дараах өөрчлөлт орсон. Хариултаа шалгана уу.",
        "This service changed after you started this application. Check your answers against these changes.",
    ),
    "upload_no_file": I18n("Хавсаргах файлаа сонгоно уу", "Choose a file to upload"),
    "upload_too_big": I18n("Файл {size} МБ-аас их байна", "The file must be smaller than {size} MB"),
    "upload_too_many": I18n(
        "«{doc}»-д {count}-аас олон файл хавсаргах боломжгүй", "You can upload at most {count} files for {doc}"
    ),
    "upload_bad_type": I18n("Файлын төрөл тохирохгүй байна. Зөвшөөрөгдөх: {types}", "The file must be one of: {types}"),
    "upload_empty": I18n("Файл хоосон байна", "The file is empty"),
    "check_title": I18n("Хариултаа шалгах", "Check your answers before submitting"),
    "change": I18n("Өөрчлөх", "Change"),
    "not_answered": I18n("Хариулаагүй", "Not answered"),
    "submit": I18n("Өргөдөл илгээх", "Submit application"),
    "resubmit": I18n("Засвараа илгээх", "Send corrections"),
    "declaration": I18n(
        "Илгээснээр миний оруулсан мэдээлэл үнэн зөв болохыг баталж байна.",
        "By submitting you confirm that the information you gave is correct.",
    ),
    "receipt_title": I18n("Өргөдөл хүлээн авлаа", "Application submitted"),
    "tracking": I18n("Бүртгэлийн дугаар", "Tracking number"),
    "receipt_next": I18n(
        "Өргөдлийн явцыг «Миний өргөдлүүд» хэсгээс харна уу.", "You can follow your application in My applications."
    ),
    "routed_to": I18n("Шийдвэрлэх газар", "Handled by"),
    "due": I18n("Шийдвэрлэх хугацаа", "Due by"),
    "submitted_at": I18n("Илгээсэн", "Submitted"),
    "status": I18n("Төлөв", "Status"),
    "timeline": I18n("Явц", "Timeline"),
    "drafts": I18n("Дуусаагүй өргөдлүүд", "Unfinished applications"),
    "no_applications": I18n("Өргөдөл байхгүй", "You have no applications"),
    "continue_draft": I18n("Үргэлжлүүлэх", "Continue"),
    "correction_needed": I18n("Засвар шаардлагатай", "Corrections needed"),
    "officer_comment": I18n("Албан хаагчийн тайлбар", "Comment from the officer"),
    "payment_due": I18n("Төлбөр төлөх", "Payment due"),
    "dev_pay": I18n("Төлөх (туршилтын төлбөр)", "Pay (development payment)"),
    "make_corrections": I18n("Засвар хийх", "Make corrections"),
    "correcting": I18n("Та буцаагдсан өргөдлөө засварлаж байна", "You are correcting a returned application"),
    "action_submit": I18n("Өргөдөл илгээсэн", "Application submitted"),
    "action_claim": I18n("Хариуцагч өөрөө авсан", "Claimed by an officer"),
    "action_assign": I18n("Хариуцагч томилсон", "Assigned to an officer"),
    # login
    "dev_login_title": I18n("Туршилтын нэвтрэлт", "Development sign-in"),
    "dev_login_hint": I18n(
        "Туршилтын орчин: регистрийн дугаараа оруулж нэвтэрнэ.", "Development only: sign in with a register number."
    ),
    "register_number": I18n("Регистрийн дугаар", "Register number"),
    "register_hint": I18n("Жишээ: УБ99032112", "For example УБ99032112"),
    "your_name": I18n("Нэр", "Name"),
    "login_invalid": I18n("Регистрийн дугаараа зөв оруулна уу", "Enter a valid register number"),
    "oidc_login": I18n("ДАН системээр нэвтрэх", "Sign in with DAN"),
    "staff_login": I18n("Албан хаагчийн нэвтрэлт", "Staff sign-in"),
    "username": I18n("Нэвтрэх нэр", "Username"),
    "password": I18n("Нууц үг", "Password"),
    "staff_invalid": I18n("Нэвтрэх нэр эсвэл нууц үг буруу байна", "The username or password is wrong"),
    # back office
    "queue": I18n("Ажлын дараалал", "Work queue"),
    "office": I18n("Газар", "Office"),
    "service": I18n("Үйлчилгээ", "Service"),
    "all": I18n("Бүгд", "All"),
    "assigned": I18n("Хариуцагч", "Assignee"),
    "assigned_me": I18n("Надад", "Me"),
    "unassigned": I18n("Хариуцагчгүй", "Unassigned"),
    "overdue": I18n("Хугацаа хэтэрсэн", "Overdue"),
    "overdue_only": I18n("Зөвхөн хугацаа хэтэрсэн", "Overdue only"),
    "waiting_on_me": I18n("Зөвхөн миний шийдвэрлэх", "Only cases waiting on my roles"),
    "filter": I18n("Шүүх", "Filter"),
    "empty_queue": I18n("Дараалал хоосон байна", "The queue is empty"),
    "claim": I18n("Өөртөө авах", "Claim"),
    "assign": I18n("Хуваарилах", "Assign"),
    "assign_to": I18n("Хэнд", "Assign to"),
    "answers": I18n("Хариултууд", "Answers"),
    "documents": I18n("Баримт бичиг", "Documents"),
    "history": I18n("Түүх", "History"),
    "actions": I18n("Үйлдэл", "Actions"),
    "no_actions": I18n("Таны эрхээр одоо хийх үйлдэл алга", "There is nothing your role can do on this case now"),
    "comment": I18n("Тайлбар", "Comment"),
    "comment_required": I18n("Тайлбар бичнэ үү", "Enter a comment"),
    "done": I18n("Хийгдлээ", "Done"),
    "applicant": I18n("Өргөдөл гаргагч", "Applicant"),
    "final_state": I18n("Шийдвэрлэгдсэн", "Closed"),
    # refusals
    "conflict": I18n(
        "Энэ хэргийг өөр хүн дөнгөж өөрчилсөн байна. Хуудсыг шинэчлээд дахин оролдоно уу.",
        "Someone else changed this case just now. Reload the page and try again.",
    ),
    "not_allowed": I18n("Танд энэ үйлдлийг хийх эрх алга", "You may not take this action"),
    "guard_false": I18n("Энэ үйлдлийн нөхцөл хангагдаагүй байна", "The conditions for this action are not met"),
    "final": I18n("Хэрэг аль хэдийн шийдвэрлэгдсэн", "The case is already closed"),
    "unknown_action": I18n("Ийм үйлдэл алга", "There is no such action"),
    "fields_required": I18n("Шаардлагатай талбаруудыг бөглөнө үү", "Fill in the required fields"),
    "invalid": I18n("Хариултад алдаа байна", "Some answers need fixing"),
    "documents_missing": I18n("Шаардлагатай баримт дутуу байна", "Required documents are missing"),
    "unroutable": I18n(
        "Таны хариултаар шийдвэрлэх газар тодорхойлогдсонгүй", "No office handles these answers; check them"
    ),
    "not_found": I18n("Хуудас олдсонгүй", "Page not found"),
    "forbidden": I18n("Хандах эрхгүй", "You do not have access"),
    "csrf": I18n(
        "Маягтын хугацаа дууссан байна. Хуудсыг шинэчлээд дахин оролдоно уу.",
        "The form has expired. Reload the page and try again.",
    ),
    "server_error": I18n("Системийн алдаа гарлаа", "Something went wrong"),
    # In every page's footer (base.html), so it lives here and not with the statistics pages' texts.
    "stats_title": I18n("Үйлчилгээний нээлттэй статистик", "Open service statistics"),
    # the office queue's pages (keyset paging, 50 cases a page)
    "queue_pages": I18n("Дарааллын хуудсууд", "Queue pages"),
    "queue_next": I18n("Дараагийн хуудас", "Next page"),
    "queue_first": I18n("Эхний хуудас", "First page"),
    "queue_shown": I18n("Энэ хуудсанд {n} хэрэг харуулав", "{n} cases shown on this page"),
    "queue_shown_last": I18n(
        "Энэ хуудсанд {n} хэрэг харуулав; дараагийн хуудас алга", "{n} cases shown on this page; there are no more"
    ),
}


def text(key: str, lang: str, **params: object) -> str:
    entry = TEXTS.get(key)
    if entry is None:
        return key
    value = entry.get(lang)
    return value.format(**params) if params else value
