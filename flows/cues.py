"""What one message says on its face: asks for a person, wants to leave, reports a problem,
swears, shouts, sulks.

Rules match on the folded normal form (`flows.tone.fold`: no niqqud, punctuation, emoji or
case, final letters folded), with common typos mapped to their word and Hebrew one-letter
prefixes (ו ה ש ב כ ל מ) stripped from words the rules know, held-down letters and missing
spaces undone. Requests are read clause by clause (the normal form drops the punctuation
between them): a negator takes one back ("no need for an agent", "לא רוצה לבטל") and a person
only talked about ("the agent was great", "תודה לנציג") is not asked for. Emoji, capitals and
"!!!" are read from the raw text, since the normal form drops them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from flows.tone import fold

_FINALS = str.maketrans("ךםןףץ", "כמנפצ")
_UNFOLD = str.maketrans("כמנפצ", "ךםןףץ")
_FINAL_AT_END = re.compile(r"(?<=[\u05d0-\u05ea])([כמנפצ])\b")
_PREFIXES = "והשבכלמ"


def _f(*phrases: str) -> frozenset[str]:
    return frozenset(" ".join(p.translate(_FINALS).casefold().split()) for p in phrases)


# Typos and spellings mapped to one word, before any rule is matched.
_SPELLINGS = {
    **dict.fromkeys(
        ["cancle", "cancell", "cansel", "cancl", "canel", "canncel", "cancle"], "cancel"
    ),
    **dict.fromkeys(
        ["canceling", "cancelling", "cancellation", "cancelation", "cancells"], "cancel"
    ),
    **dict.fromkeys(["humen", "humn", "hooman", "humna", "huamn", "humam", "hman"], "human"),
    **dict.fromkeys(["agnet", "agant", "agen", "agemt", "ajent"], "agent"),
    **dict.fromkeys(["persn", "prson", "peron", "perosn", "persom"], "person"),
    **dict.fromkeys(["someon", "somone", "soemone", "someome", "sum1", "some1"], "someone"),
    **dict.fromkeys(["sombody", "somebdy", "somebodey"], "somebody"),
    **dict.fromkeys(["operater", "oprator", "operatr"], "operator"),
    **dict.fromkeys(["wanna", "wnat", "whant"], "want"),
    **dict.fromkeys(["speek", "spaek", "spk"], "speak"),
    **dict.fromkeys(["tlak", "talkk"], "talk"),
    **dict.fromkeys(["plz", "pls", "pleas", "plese", "pleaze", "plox"], "please"),
    **dict.fromkeys(["representatives", "represenative", "representive"], "representative"),
    **dict.fromkeys(["unsubscibe", "unsubcribe", "unsuscribe", "unsub"], "unsubscribe"),
    **dict.fromkeys(["im", "iam"], "i am"),
    **dict.fromkeys(["ur"], "your"),
    **dict.fromkeys(["u"], "you"),
    **dict.fromkeys(["נצג", "נצייג", "נציגג", "נציק", "נציגיי"], "נציג"),
    **dict.fromkeys(["נציגה", "נציגים", "נציגות", "נציגת", "נצגה"], "נציג"),
    **dict.fromkeys(["מישו", "מישהוא", "מישהוו", "מישהי"], "מישהו"),
    **dict.fromkeys(["בנאדם", "בנדם", "בנאדמ", "בןאדם"], "בן אדם"),
    **dict.fromkeys(["לבתל", "לבטלל", "לבטול", "לבטלה"], "לבטל"),
    **dict.fromkeys(["מבטלת", "מבטלים"], "מבטל"),
    **dict.fromkeys(["עוזבת", "עוזבים"], "עוזב"),
    **dict.fromkeys(["רוצָה", "רוצות", "רוצים", "רוצע", "רוצא"], "רוצה"),
    **dict.fromkeys(["בבקשהה", "בבקשש", "בבקשא", "בבקשהה", "בבקשע", "בקשה"], "בבקשה"),
    **dict.fromkeys(["מוקדנית", "מוקדנים"], "מוקדן"),
    **dict.fromkeys(["מנהלת"], "מנהל"),
    **dict.fromkeys(["אחראית"], "אחראי"),
    **dict.fromkeys(["מינוי"], "מנוי"),
    **dict.fromkeys(["המינוי"], "המנוי"),
    **dict.fromkeys(["מתנתקת", "מתנתקים"], "מתנתק"),
}
_SPELLINGS = {k.translate(_FINALS): v.translate(_FINALS) for k, v in _SPELLINGS.items()}

# Long words whose typos are caught by edit distance (at most one edit, or two when long).
_FUZZY = ("representative", "supervisor", "unsubscribe", "customer")

# Asks for a person, on its own.
PERSON_PHRASES = _f(
    "representative",
    "real person",
    "real human",
    "real people",
    "actual person",
    "actual human",
    "live agent",
    "live person",
    "live human",
    "human agent",
    "human being",
    "human please",
    "customer service representative",
    "not a bot",
    "not a robot",
    "no more bot",
    "no bots",
    "stop the bot",
    "not talking to a bot",
    "not talk to a bot",
    "are you a bot",
    "are you a robot",
    "am i talking to a bot",
    "transfer me",
    "connect me to",
    "put me through",
    "call me back",
    "have someone call me",
    "escalate",
    "נציג",
    "בן אדם אמיתי",
    "אדם אמיתי",
    "מישהו אמיתי",
    "אדם חי",
    "בן אדם חי",
    "מישהו אנושי",
    "נציג אנושי",
    "מענה אנושי",
    "שירות אנושי",
    "מוקד אנושי",
    "לדבר עם מישהו",
    "לדבר עם בן אדם",
    "לדבר עם אדם",
    "לדבר עם מנהל",
    "לדבר עם אחראי",
    "לדבר עם מוקדן",
    "לדבר עם מישהו אמיתי",
    "תעבירו אותי",
    "תעביר אותי",
    "תעבירי אותי",
    "להעביר אותי",
    "תחברו אותי",
    "תחבר אותי",
    "שמישהו יחזור אליי",
    "שמישהו יחזור אלי",
    "שמישהו יתקשר",
    "שיחזרו אליי",
    "שיחזרו אלי",
    "תחזרו אליי",
    "תחזרו אלי",
    "תתקשרו אליי",
    "תתקשרו אלי",
    "לא רוצה בוט",
    "לא רוצה לדבר עם בוט",
    "לא רוצה לדבר עם רובוט",
    "די עם הבוט",
    "אתה בוט",
    "את בוט",
    "זה בוט",
    "לא בוט",
)
# Ask for a person only with a request around them ("want", "talk to", "please") or alone.
PERSON_WORDS = _f(
    "agent",
    "human",
    "person",
    "someone",
    "somebody",
    "anyone",
    "anybody",
    "operator",
    "manager",
    "supervisor",
    "customer service",
    "customer support",
    "support team",
    "מנהל",
    "אחראי",
    "מישהו",
    "בן אדם",
    "אדם",
    "שירות לקוחות",
    "מוקד",
    "מוקדן",
    "rep",
)
_ASKING_BEFORE = _f(
    "want",
    "need",
    "get",
    "give",
    "speak",
    "talk",
    "chat",
    "connect",
    "transfer",
    "reach",
    "real",
    "actual",
    "live",
    "d like",
    "would like",
    "let me",
    "can i",
    "could i",
    "רוצה",
    "צריך",
    "צריכה",
    "לדבר",
    "לשוחח",
    "תעבירו",
    "תעביר",
    "להעביר",
    "תחברו",
    "לחבר",
    "תביאו",
    "תביא",
    "מבקש",
    "מבקשת",
    "ביקשתי",
    "אפשר",
    "יש",
)
_ASKING_AFTER = _f(
    "please",
    "now",
    "asap",
    "right now",
    "בבקשה",
    "עכשיו",
    "דחוף",
    "אמיתי",
    "אנושי",
    "חי",
    "שיחזור",
    "שיתקשר",
    "call me",
    "call back",
    "contact me",
    "get back",
    *[f"{can} {verb}" for can in ("יכול", "יכולה") for verb in ("לחזור", "להתקשר", "לדבר")],
)

# Wants to cancel or leave, on its own.
LEAVE_PHRASES = _f(
    "cancel my",
    "cancel the subscription",
    "cancel the account",
    "cancel the service",
    "cancel subscription",
    "cancel account",
    "cancel service",
    "cancel membership",
    "cancel everything",
    "cancel it",
    "want to cancel",
    "going to cancel",
    "gonna cancel",
    "how do i cancel",
    "how to cancel",
    "how can i cancel",
    "i will cancel",
    "i ll cancel",
    "i am cancel",
    "unsubscribe",
    "close my account",
    "delete my account",
    "terminate my",
    "end my subscription",
    "end my contract",
    "stop my subscription",
    "stop charging me",
    "leave your company",
    "leaving your company",
    "switching to",
    "switch to another",
    "moving to another",
    "go to a competitor",
    "going to a competitor",
    "i quit",
    "i am done with you",
    "done with your company",
    "never using you again",
    "never buying from you again",
    "never ordering again",
    "לבטל את המנוי",
    "לבטל את החשבון",
    "לבטל את השירות",
    "לבטל את החוזה",
    "לבטל את העסקה",
    "לבטל את ההתחייבות",
    "לבטל את הכל",
    "לבטל מנוי",
    "לבטל חשבון",
    "לבטל שירות",
    "רוצה לבטל",
    "אפשר לבטל",
    "איך מבטלים",
    "איך לבטל",
    "מבקש לבטל",
    "מבקשת לבטל",
    "תבטלו לי",
    "תבטלו את",
    "ביטול מנוי",
    "ביטול המנוי",
    "ביטול החשבון",
    "ביטול השירות",
    "ביטול עסקה",
    "ביטול העסקה",
    "בקשת ביטול",
    "מבטל את",
    "מבטל",
    "עוזב אתכם",
    "לעזוב אתכם",
    "לעזוב את החברה",
    "עובר לחברה אחרת",
    "עוברת לחברה אחרת",
    "עוברים לחברה אחרת",
    "עובר למתחרים",
    "עוברת למתחרים",
    "לעבור לחברה אחרת",
    "לעבור למתחרים",
    "להתנתק מכם",
    "להתנתק מהשירות",
    "לסגור את החשבון",
    "לסגור את המנוי",
    "לסגור חשבון",
    "תסגרו לי",
    "תנתקו אותי",
    "לא אקנה מכם",
    "לא אזמין מכם",
    "בחיים לא אזמין",
    "אחרון שאני",
    "תוציאו אותי",
    "להוציא אותי",
    "תסירו אותי",
    "להסיר אותי",
    "remove me from",
    "take me off",
)
# Cancelling words and what they cancel: "ביטול חשבון", "close my account", "end my plan".
_CANCELLING = _f(
    "cancel",
    "terminate",
    "close",
    "end",
    "stop",
    "delete",
    "לבטל",
    "ביטול",
    "מבטל",
    "לסגור",
    "סגירת",
    "לסיים",
    "סיום",
    "למחוק",
    "תבטלו",
    "תסגרו",
)
_CANCELLED = _f(
    "subscription",
    "sub",
    "account",
    "membership",
    "plan",
    "contract",
    "service",
    *[
        f"{article}{noun}"
        for article in ("", "ה")
        for noun in ("מנוי", "חשבון", "שירות", "חוזה", "התחייבות", "התקשרות", "עסקה")
    ],
    "הוראת קבע",
    "ההוראת קבע",
)
# Asking to do something: with "cancel" / "לבטל" a request ("אני רוצה cancel למנוי").
_WANTING = _f("want", "please", "רוצה", "רוצים", "מבקש", "מבקשת", "בבקשה")
_CANCEL_VERBS = _f("cancel", "unsubscribe", "לבטל", "ביטול")
# Leaving words that also mean leaving a room, a review or an app ("I'm leaving at 5",
# "להתנתק מהאפליקציה"): a request only after "I"/"want" and at the end of a clause or with
# the business as object.
_LEAVING = _f("leave", "leaving", "quit", "לעזוב", "עוזב", "להתנתק", "מתנתק")
_LEAVING_WHO = _f("i", "am", "we", "are", "אני", "אנחנו", *_WANTING)
_LEFT = _f(
    "you",
    "your",
    "this",
    "אתכם",
    "אותכם",
    "מכם",
    "מהשירות",
    "מהחברה",
    "מהמנוי",
    "לתמיד",
)

# "ביטול"/"לבטל"/"cancel" alone in a short message are a request; in a long one, only with the above.
_LEAVE_SHORT = _f("cancel", "לבטל", "ביטול")

SWEARING = _f(
    "fuck",
    "fucking",
    "fucked",
    "fuckin",
    "fucker",
    "motherfucker",
    "shit",
    "shitty",
    "bullshit",
    "crap",
    "crappy",
    "damn",
    "dammit",
    "goddamn",
    "wtf",
    "ffs",
    "stfu",
    "asshole",
    "assholes",
    "bastard",
    "bastards",
    "bitch",
    "idiot",
    "idiots",
    "moron",
    "morons",
    "screw you",
    "piss off",
    "pissed",
    "חרא",
    "חארה",
    "חארות",
    "זבל",
    "מזדיין",
    "מזדיינים",
    "כוס אמק",
    "כוסאמק",
    "כוס אמא",
    "כוס אמאשך",
    "כוסעמק",
    "בן זונה",
    "בני זונות",
    "יא זבל",
    "מטומטם",
    "מטומטמת",
    "מטומטמים",
    "אידיוט",
    "אידיוטים",
    "דביל",
    "דבילים",
    "סתום",
    "סתמו",
    "לעזאזל",
    "פאק",
    "פאקינג",
    "שיט",
    "מניאק",
    "מניאקים",
    "אפס",
    "אפסים",
    "נבלות",
    "חלאות",
)
NEGATIVE = _f(
    "terrible",
    "awful",
    "horrible",
    "horrendous",
    "bad",
    "complaints",
    "worst",
    "worse",
    "useless",
    "ridiculous",
    "unacceptable",
    "pathetic",
    "disgusting",
    "disgrace",
    "disgraceful",
    "shameful",
    "outrageous",
    "disappointed",
    "disappointing",
    "disappointment",
    "frustrated",
    "frustrating",
    "frustration",
    "annoyed",
    "annoying",
    "angry",
    "furious",
    "livid",
    "upset",
    "unhappy",
    "rude",
    "incompetent",
    "scam",
    "scammers",
    "ripoff",
    "rip off",
    "garbage",
    "trash",
    "rubbish",
    "sucks",
    "hate",
    "lousy",
    "nightmare",
    "complaint",
    "complain",
    "fed up",
    "sick of",
    "tired of",
    "had enough",
    "a joke",
    "waste of",
    "still waiting",
    "no one helps",
    "nobody helps",
    "nobody cares",
    "גרוע",
    "גרועה",
    "גרועים",
    "נורא",
    "נוראי",
    "נוראית",
    "נוראיים",
    "זוועה",
    "זוועתי",
    "זוועתית",
    "מזעזע",
    "מזעזעת",
    "מחפיר",
    "מחפירה",
    "מביש",
    "בושה",
    "חוצפה",
    "חצופים",
    "שערורייה",
    "שערוריה",
    "שערורייתי",
    "מאכזב",
    "מאכזבת",
    "אכזבה",
    "מאוכזב",
    "מאוכזבת",
    "מתוסכל",
    "מתוסכלת",
    "תסכול",
    "מתסכל",
    "עצבני",
    "עצבנית",
    "עצבים",
    "מעצבן",
    "מעצבנת",
    "מעצבנים",
    "כועס",
    "כועסת",
    "נמאס",
    "די כבר",
    "מגעיל",
    "גועל",
    "חסר תועלת",
    "חסרי תועלת",
    "לא מקובל",
    "לא מקובלת",
    "אין מה לעשות איתכם",
    "בזבוז",
    "רמאות",
    "רמאים",
    "נוכלים",
    "עוקץ",
    "עקצו",
    "גנבים",
    "גניבה",
    "תלונה",
    "להתלונן",
    "זלזול",
    "מזלזלים",
    "מזלזל",
    "הפקרות",
    "רע",
    "גרוע ביותר",
    "הכי גרוע",
)
# Positive words: negated ("not good", "לא מרוצה") they count as negative.
POSITIVE = _f(
    "good",
    "great",
    "happy",
    "satisfied",
    "helpful",
    "ok",
    "okay",
    "fine",
    "fair",
    "acceptable",
    "professional",
    "reasonable",
    "working",
    "טוב",
    "טובה",
    "טובים",
    "מרוצה",
    "מרוצים",
    "מעולה",
    "נהדר",
    "בסדר",
    "מקצועי",
    "מקצועית",
    "שמח",
    "שמחה",
    "נחמד",
    "נחמדה",
    "עוזר",
    "יעיל",
    "הוגן",
    "סביר",
)
# Something the business got wrong, said as plainly as customers report it ("my order never
# arrived", "charged twice", "האפליקציה קורסת"): in a customer chat these are what frustration
# looks like long before any angry word. Phrases of two words or more carry their own negation;
# a single word counts unless negated ("wasn't delayed").
PROBLEMS = _f(
    # nothing came, or the wrong thing did
    "never arrived",
    "never came",
    "never received",
    "never got",
    "never delivered",
    "never showed up",
    "didn t arrive",
    "didn t come",
    "didn t receive",
    "didn t get",
    "hasn t arrived",
    "hasn t come",
    "hasn t shown up",
    "haven t received",
    "haven t got",
    "haven t gotten",
    "not arrived",
    "not delivered",
    "wasn t delivered",
    "still not here",
    "still hasn t",
    "went missing",
    "is missing",
    "are missing",
    "was missing",
    "were missing",
    "missing item",
    "missing items",
    "lost my",
    "lost our",
    "lost the package",
    "wrong item",
    "wrong items",
    "wrong order",
    "wrong size",
    "wrong color",
    "wrong colour",
    "wrong product",
    "wrong address",
    "sent me the wrong",
    "sent the wrong",
    "got the wrong",
    "received the wrong",
    "gave me the wrong",
    "delivered the wrong",
    "brought the wrong",
    "brought me the wrong",
    "damaged",
    "defective",
    "faulty",
    "broken",
    "arrived broken",
    "smashed",
    "shattered",
    "ruined",
    "leaking",
    "leaks",
    "נשבר",
    "נשברה",
    "נשברו",
    "הרוס",
    "הרוסה",
    "מרוסק",
    "מרוסקת",
    "פגוע",
    "פגועה",
    "נוזל",
    "נוזלת",
    "דולף",
    "דולפת",
    "cracked",
    "expired",
    "spoiled",
    "moldy",
    "stale",
    "arrived cold",
    "came cold",
    "food was cold",
    "undercooked",
    "raw inside",
    "burnt",
    "hair in my",
    "הגיע קר",
    "הגיעה קרה",
    "הגיעו קרים",
    "האוכל קר",
    "לא מבושל",
    "לא מבושלת",
    "שרוף",
    "שרופה",
    "not on time",
    "wasn t on time",
    "לא הגיע בזמן",
    "לא הגיעה בזמן",
    "נמסר לכתובת אחרת",
    "לא תקין",
    "לא תקינה",
    "לא תקינים",
    # late
    "delayed",
    "delays",
    "been on hold",
    "was on hold",
    "kept on hold",
    "kept me on hold",
    "still on hold",
    "im on hold",
    "i m on hold",
    "hours on hold",
    "minutes on hold",
    "supposed to arrive",
    "supposed to be here",
    "was supposed to",
    "were supposed to",
    "is late",
    "are late",
    "always late",
    "late again",
    "arrived late",
    "came late",
    "delivered late",
    "איחר",
    "איחרה",
    "איחרו",
    "היה אמור",
    "הייתה אמורה",
    "היו אמורים",
    "should have arrived",
    "should have been here",
    # money
    "charged twice",
    "charged me twice",
    "charged us twice",
    "billed twice",
    "double charged",
    "double charge",
    "double billed",
    "overcharged",
    "over charged",
    "overbilled",
    "wrong charge",
    "unauthorized charge",
    "hidden fee",
    "hidden fees",
    "no refund",
    "still no refund",
    "where is my refund",
    "where s my refund",
    "never refunded",
    "not refunded",
    "been charged",
    "was charged",
    "were charged",
    "got charged",
    "been billed",
    "was billed",
    "charged me",
    "billed me",
    "didn t authorize",
    "don t recognize",
    "do not recognize",
    "higher than usual",
    "higher than normal",
    "מחייבים אותי",
    "חיוב לא מזוהה",
    "לא מזהה את החיוב",
    "גבוה מהרגיל",
    "גבוה בהרבה מהרגיל",
    # it does not work
    "not working",
    "isn t working",
    "aren t working",
    "wasn t working",
    "doesn t work",
    "does not work",
    "didn t work",
    "won t work",
    "stopped working",
    "won t load",
    "won t open",
    "won t let me",
    "doesn t load",
    "doesn t open",
    "can t log in",
    "can t login",
    "cannot log in",
    "cant log in",
    "can t sign in",
    "crashed",
    "crashes",
    "crashing",
    "keeps crashing",
    "keeps freezing",
    "froze",
    "outage",
    "is down",
    "was down",
    "been down",
    "went down",
    "no internet",
    "no signal",
    "no service",
    "no connection",
    "no electricity",
    "no power",
    "no hot water",
    "glitch",
    "error",
    "keeps disconnecting",
    "keeps dropping",
    "keeps logging me out",
    "logged me out",
    "hasn t updated",
    "not updating",
    "שגיאה",
    "תקועים",
    "תקועות",
    "מתנתק כל",
    "מתנתקת כל",
    "נופל כל",
    "נופלת כל",
    "אין צליל",
    "לא התעדכן",
    "לא מתעדכן",
    "כתובת לא נכונה",
    # nobody answers, nobody keeps their word
    "no response",
    "no reply",
    "no answer",
    "no one answers",
    "nobody answers",
    "no one is answering",
    "no one answered",
    "nobody answered",
    "no one replied",
    "nobody replied",
    "never replied",
    "never answered",
    "never responded",
    "never called back",
    "never called me back",
    "didn t call back",
    "didn t call me back",
    "no one called",
    "nobody called",
    "never got back to me",
    "never heard back",
    "haven t heard back",
    "hasn t heard back",
    "no one has answered",
    "nobody has answered",
    "no one has replied",
    "nobody has replied",
    "no one has called",
    "nobody has called",
    "no one has gotten back",
    "no one got back",
    "nobody got back",
    "ignored",
    "ignoring",
    "hung up",
    "runaround",
    "passed from",
    "passed around",
    "one department to another",
    "ממחלקה למחלקה",
    "couldn t get through",
    "can t get through",
    "could not get through",
    "can t reach anyone",
    "couldn t reach anyone",
    "לא הצלחתי להשיג",
    "לא הצלחתי לעבור",
    "לא מצליח להשיג",
    "לא מצליחה להשיג",
    "nobody told",
    "no one told",
    "no one informed",
    "nobody informed",
    "no one updated",
    "nobody updated",
    "אף אחד לא עדכן",
    "אף אחד לא הודיע",
    "בלי לעדכן",
    "בלי להודיע",
    "didn t show up",
    "didn t show",
    "no show",
    "לא הופיע",
    "לא הופיעה",
    "run around",
    "you promised",
    "was promised",
    "were promised",
    "cancelled my flight",
    "canceled my flight",
    "flight was cancelled",
    "flight was canceled",
    "was cancelled",
    "was canceled",
    "got cancelled",
    "got canceled",
    "were cancelled",
    "were canceled",
    "cancelled my appointment",
    "canceled my appointment",
    "lost luggage",
    "unhelpful",
    "לא הגיע",
    "לא הגיעה",
    "לא הגיעו",
    "לא קיבלתי",
    "לא קיבלנו",
    "לא התקבל",
    "לא התקבלה",
    "לא סופק",
    "לא סופקה",
    "הלך לאיבוד",
    "הלכה לאיבוד",
    "נאבד",
    "נאבדה",
    "איבדו",
    "איבדתם",
    "חסר לי",
    "חסרה לי",
    "חסרים לי",
    "היה חסר",
    "הייתה חסרה",
    "חסר פריט",
    "חסר מוצר",
    "חסרה מנה",
    "מוצר לא נכון",
    "פריט לא נכון",
    "מידה לא נכונה",
    "הזמנה לא נכונה",
    "מנה לא נכונה",
    "פגום",
    "פגומה",
    "פגומים",
    "פגומות",
    "הגיע שבור",
    "הגיעה שבורה",
    "שבור",
    "שבורה",
    "שבורים",
    "מקולקל",
    "מקולקלת",
    "תקול",
    "תקולה",
    "סדוק",
    "סדוקה",
    "קרוע",
    "קרועה",
    "פג תוקף",
    "עיכוב",
    "עיכובים",
    "מתעכב",
    "מתעכבת",
    "התעכב",
    "התעכבה",
    "באיחור",
    "חייבו אותי",
    "חייבתם אותי",
    "חויבתי",
    "חיוב כפול",
    "חיוב יתר",
    "חייבו ביתר",
    "חיוב שגוי",
    "חיוב לא מוצדק",
    "חיובים לא מוצדקים",
    "לא קיבלתי החזר",
    "אין החזר",
    "איפה ההחזר",
    "גבו ממני",
    "גבו פעמיים",
    "גביתם ממני",
    "לא זיכו",
    "לא זיכו אותי",
    "לא קיבלתי זיכוי",
    "לא החזירו",
    "לא מחזירים",
    "still no credit",
    "never credited",
    "לא עובד",
    "לא עובדת",
    "לא עובדים",
    "לא עובדות",
    "הפסיק לעבוד",
    "הפסיקה לעבוד",
    "לא נטען",
    "לא נטענת",
    "לא נפתח",
    "לא נפתחת",
    "לא מצליח להתחבר",
    "לא מצליחה להתחבר",
    "לא מצליח להיכנס",
    "לא מצליחה להיכנס",
    "לא מצליח להזמין",
    "לא מצליחה להזמין",
    "לא מצליח לשלם",
    "לא מצליחה לשלם",
    "קורס",
    "קורסת",
    "קרס",
    "קרסה",
    "נתקע",
    "נתקעת",
    "נתקעה",
    "תקוע",
    "תקועה",
    "תקלה",
    "תקלות",
    "באג",
    "אין אינטרנט",
    "אין קליטה",
    "אין חשמל",
    "אין מים חמים",
    "אין חיבור",
    "לא עונים",
    "לא עונה",
    "אף אחד לא עונה",
    "אין מענה",
    "אין תשובה",
    "לא ענו",
    "לא ענה",
    "לא ענתה",
    "לא חזרו אלי",
    "לא חזרו אליי",
    "לא חזר אלי",
    "לא חזר אליי",
    "אף אחד לא חזר",
    "אף אחד לא חוזר",
    "לא חוזרים",
    "ניתקו לי",
    "ניתקו אותי",
    "ניתק לי",
    "ניתקה לי",
    "מעבירים אותי",
    "העבירו אותי",
    "מטרטרים",
    "טרטור",
    "טרטרו",
    "הבטחתם",
    "הבטיחו לי",
    "מתעלמים",
    "התעלמו",
    "התעלמות",
    "ביטלו לי",
    "ביטלתם לי",
    "הטיסה בוטלה",
    "התור בוטל",
    "לא אדיב",
    "לא אדיבה",
    "גס רוח",
    "גסת רוח",
)
# A wait the customer measures ("waiting two weeks", "מחכה כבר שעה"): a waiting word and a
# length of time within a few words of each other, in one clause. "wait" itself is left out
# ("I can wait a week" is calm), and so is "יום" ("מחכה ליום שישי": looking forward to Friday);
# "took 9 days" is a wait, "took only 2 days" is not.
_ALREADY = _f("already", "כבר")
_WAITING = _f(
    "waiting",
    "waited",
    "been",
    "מחכה",
    "מחכים",
    "חיכיתי",
    "חיכינו",
    "ממתין",
    "ממתינה",
    "ממתינים",
    "המתנתי",
    "המתנו",
    "בהמתנה",
    "took",
    "לקח",
    "לקחה",
    "לקחו",
    *_ALREADY,
)
_TIMES = _f(
    "minutes",
    "mins",
    "hour",
    "hours",
    "hrs",
    "days",
    "week",
    "weeks",
    "month",
    "months",
    "forever",
    "ages",
    "דקות",
    "שעה",
    "שעות",
    "שעתיים",
    "ימים",
    "יומיים",
    "שבוע",
    "שבועות",
    "שבועיים",
    "חודש",
    "חודשים",
    "חודשיים",
    "נצח",
)
_SHORT_TIME = re.compile(r"\d+(?:min|mins|h|hr|hrs)")
_NOT_A_WAIT = _f(
    "next", "this", "every", "only", "just", "under", "הבא", "הבאה", "הזה", "הזאת", "רק", "תוך"
)
NEGATORS = _f(
    "not",
    "no",
    "never",
    "nothing",
    "hardly",
    "isn",
    "wasn",
    "aren",
    "weren",
    "don",
    "doesn",
    "didn",
    "won",
    "cannot",
    "cant",
    "isnt",
    "wasnt",
    "dont",
    "doesnt",
    "didnt",
    "t",
    "לא",
    "אין",
    "אינו",
    "אינה",
    "בלי",
    "ממש לא",
    "בכלל לא",
)
# "I asked before and nothing happened": strong on their own.
REPEATED_ASKING = _f(
    "second time",
    "third time",
    "fourth time",
    "fifth time",
    "2nd time",
    "3rd time",
    "4th time",
    "how many times",
    "how many more times",
    "i already told",
    "i already said",
    "i already asked",
    "i already wrote",
    "already told you",
    "already asked",
    "as i said",
    "as i already said",
    "i keep asking",
    "keep telling you",
    "yet again",
    "once again",
    "still not",
    "still no",
    "still haven t",
    "still hasn t",
    "still waiting",
    "פעם שנייה",
    "פעם שניה",
    "פעם שלישית",
    "פעם רביעית",
    "פעם חמישית",
    "פעם המיליון",
    "כבר פעם",
    "עוד פעם",
    "כמה פעמים",
    "כמה עוד",
    "כבר אמרתי",
    "כבר כתבתי",
    "כבר ביקשתי",
    "כבר שאלתי",
    "כבר פניתי",
    "כבר פנינו",
    "כבר התקשרתי",
    "אמרתי כבר",
    "כתבתי כבר",
    "ביקשתי כבר",
    "שאלתי כבר",
    "כמו שאמרתי",
    "כמו שכתבתי",
    "עדיין לא",
    "עדיין מחכה",
    "עדיין מחכים",
    "עדיין אין",
    "שוב ושוב",
)
# "again" / "שוב" are weaker, and not when thanking ("thanks again", "תודה שוב").
AGAIN = _f("again", "שוב")
_THANKS = _f("thanks", "thank", "thx", "you", "תודה", "see")

# Words that may stand around a request for a person in a message that is only that request.
_FILLER = _f(
    *[
        "a",
        "an",
        "the",
        "i",
        "me",
        "to",
        "with",
        "some",
        "any",
        "your",
        "one",
        "hello",
        "hi",
        "hey",
        "is",
        "there",
        "you",
        "can",
        "get",
        "want",
        "need",
    ],
    *["עם", "את", "ל", "אני", "היי", "שלום", "הלו", "יש", "אפשר", "רוצה"],
)
# Words that may stand between a request and a negator that takes it back ("no need for a
# representative", "I don't want to cancel", "לא צריך נציג", "אני לא רוצה לבטל").
_NEGATING = _f("not", "never", "dont", "didnt", "doesnt", "wont", "לא", "אל", "בלי")
_NEGATING_AUX = _f("don", "didn", "doesn", "won", "do", "did", "does", "will")
_NO_NEED = _f("no need", "אין צורך")
_NEGATED_SPAN = _f(
    "for",
    "of",
    "really",
    "even",
    "going",
    "gonna",
    "planning",
    "about",
    "am",
    "are",
    "we",
    "צורך",
    "באמת",
    "מתכוון",
    "מתכוונת",
    "אנחנו",
)
# "why won't you get me a human", "למה לא מעבירים לנציג": a complaint, not a negation.
_WHY = _f("why", "how come", "למה", "מדוע", "למה לא")
# A person talked about, not asked for: "the agent was great", "הנציג שדיברתי איתו עזר",
# "דיברתי אתמול עם נציג", "תודה לנציג". Only where nothing around asks for one.
_MENTIONED_AFTER = _f(
    "was",
    "were",
    "is",
    "has",
    "had",
    "did",
    "said",
    "told",
    "solved",
    "helped",
    "fixed",
    "sorted",
    "answered",
    "called",
    "explained",
    "handled",
    "who",
    "that",
    "spoke",
    "talked",
    "היה",
    "הייתה",
    "היתה",
    "היו",
    "פתר",
    "פתרה",
    "עזר",
    "עזרה",
    "עזרו",
    "אמר",
    "אמרה",
    "ענה",
    "ענתה",
    "טיפל",
    "טיפלה",
    "הסביר",
    "הסבירה",
    "דיברתי",
    "דיברנו",
    "סידר",
    "סידרה",
)
_MENTIONED_BEFORE = _f(
    "spoke",
    "talked",
    "chatted",
    "thanks",
    "thank",
    "thanked",
    "דיברתי",
    "דיברנו",
    "שוחחתי",
    "תודה",
)
# Opens a question that asks for information ("what time", "can you tell me", "מתי", "כמה").
_ASKING_OPENERS = _f(
    "what",
    "whats",
    "when",
    "where",
    "which",
    "who",
    "how",
    "can",
    "could",
    "would",
    "will",
    "do",
    "does",
    "is",
    "are",
    "may",
    "should",
    "any",
    "מה",
    "מתי",
    "איפה",
    "כמה",
    "איזה",
    "איזו",
    "אילו",
    "האם",
    "אפשר",
    "יש",
    "אתם",
    "מי",
    "איך",
    "עד",
)
_DETERMINERS = _f("my", "the", "our", "this", "את", "all", "שלי", "a", "an")
# Cancelled without leaving ("cancel my appointment", "לבטל את התור").
_ROUTINE = _f(
    "appointment",
    "booking",
    "reservation",
    "order",
    "transfer",
    "payment",
    "flight",
    "table",
    "class",
    "session",
    "delivery",
    "meeting",
    "visit",
    "ride",
    "lesson",
    *[
        f"{article}{noun}"
        for article in ("", "ה")
        for noun in (
            "תור",
            "הזמנה",
            "העברה",
            "תשלום",
            "טיסה",
            "שולחן",
            "שיעור",
            "אימון",
            "פגישה",
            "משלוח",
            "ביקור",
            "נסיעה",
        )
    ],
)
# A switch to this business ("thinking of switching to you"), not away from it.
_TO_US = _f("you", "u", "אליכם")
_SWITCHING = _f("switching", "switch", "לעבור", "עובר", "עוברת", "עוברים")
_GREETINGS = _f("hi", "hello", "hey", "היי", "שלום", "הי", "הלו", "אהלן")
_HOW_NOT_ASKING = _f("how come", "how dare", "how many times", "how long do i", "what the")
_PLAIN_QUESTION_WORDS = 12
_QUESTION_END = re.compile(r"(.*?)([\W_]*)", re.S)
_SENTENCES = re.compile(r"[.!?;؟\n]+")
_CLAUSES = re.compile(r"[.,;:!?\n…؟]+|\s[-–—]\s")
# Hebrew words that look prefixed but are words of their own ("מלא" is "full", not "מ+לא").
# Words that look like a prefix and a known word but are not ("מאפסים": resetting, not "losers").
_NEVER_STRIPPED = frozenset(
    word.translate(_FINALS)
    for word in ("מלא", "הלא", "כלא", "בלא", "שאל", "ואל", "מאל", "מאפס", "מאפסת", "מאפסים", "לאפס")
)

ANGRY_EMOJI = frozenset("😡🤬😤👎💢😠🖕😾🙄😒😩😫🤦")
_SHOUT = re.compile(r"[!?！？]{3,}|(?:\?!|!\?){2,}")
_LATIN = re.compile(r"[A-Za-z]")
_UPPER_WORD = re.compile(r"\b[A-Z]{3,}\b")


@dataclass(frozen=True, slots=True)
class Cues:
    """What the rules found in one message."""

    wants_person: bool = False
    wants_to_leave: bool = False
    swearing: bool = False
    negative: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()
    """Something the business got wrong, as the customer reports it."""
    all_caps: bool = False
    shouting: str = ""
    angry_emoji: bool = False
    asked_before: bool = False
    again: bool = False
    plain_question: bool = False
    """A short question asking for information, with nothing above on its face."""

    @property
    def on_its_face(self) -> bool:
        """Anything that reads as a request or as frustration."""
        return (
            self.wants_person
            or self.wants_to_leave
            or self.swearing
            or bool(self.negative)
            or bool(self.problems)
            or self.all_caps
            or bool(self.shouting)
            or self.angry_emoji
            or self.asked_before
            or self.again
        )


def tokens(text: str) -> list[str]:
    """The folded words of a text with typos mapped and known Hebrew prefixes stripped."""
    words: list[str] = []
    for word in fold(text).split():
        if not _known(word):
            word = (
                _strip_prefix(word) or _fuzzy(word) or _unrepeated(word) or _unglued(word) or word
            )
        words.extend(_SPELLINGS.get(word, word).split())
    return words


def clauses(text: str) -> list[list[str]]:
    """The `tokens` of each clause of a text, split at punctuation the normal form drops."""
    found = (tokens(part) for part in _CLAUSES.split(text))
    return [words for words in found if words]


def read(text: str) -> Cues:
    """The cues in one raw message."""
    parts = clauses(text)
    words = [word for part in parts for word in part]
    padded = f" {' '.join(words)} "
    wants_to_leave = any(_wants_to_leave(part) for part in parts) or (
        len(words) <= 2 and _any_phrase(padded, _LEAVE_SHORT)
    )
    read_parts = [_words_of_note(part) for part in parts]
    negative = tuple(dict.fromkeys(phrase for found, _ in read_parts for phrase in found))
    problems = tuple(dict.fromkeys(phrase for _, found in read_parts for phrase in found))
    found = Cues(
        wants_person=any(_wants_person(part, alone=words) for part in parts),
        wants_to_leave=wants_to_leave,
        swearing=_any_phrase(padded, SWEARING) or any(w.startswith("fuck") for w in words),
        negative=negative,
        problems=problems,
        all_caps=_all_caps(text),
        shouting=_shouting(text),
        angry_emoji=any(ch in ANGRY_EMOJI for ch in text),
        asked_before=_any_phrase(padded, REPEATED_ASKING),
        again=_again(words),
    )
    if not found.on_its_face and _plain_question(text, words):
        return replace(found, plain_question=True)
    return found


def _known(word: str) -> bool:
    return word in _VOCABULARY or word in _SPELLINGS or word in _NEVER_STRIPPED


def _any_phrase(padded: str, phrases: frozenset[str]) -> bool:
    return any(f" {phrase} " in padded for phrase in phrases)


def _phrase_at(words: list[str], i: int, phrases: frozenset[str]) -> int:
    """Length in words of the longest phrase of `phrases` starting at word i, or 0."""
    for n in (6, 5, 4, 3, 2, 1):
        if i + n <= len(words) and " ".join(words[i : i + n]) in phrases:
            return n
    return 0


def _matches(words: list[str], phrases: frozenset[str]) -> list[tuple[int, int]]:
    """(start, length) of every phrase of `phrases` in `words`, the longest at each start."""
    found = []
    for i in range(len(words)):
        n = _phrase_at(words, i, phrases)
        if n:
            found.append((i, n))
    return found


def _wants_person(words: list[str], *, alone: list[str]) -> bool:
    """One clause asks for a person: a phrase that asks on its own, unless taken back or
    only talked about, or a person word with a request around it or with little else in the
    whole message (`alone`)."""
    for i, n in _matches(words, PERSON_PHRASES):
        if _negated_request(words, i):
            continue
        if _asked(words, i, n) or not _mentioned(words, i, n):
            return True
    for i, n in _matches(words, PERSON_WORDS):
        if _negated_request(words, i):
            continue
        others = [w for w in alone if w not in _FILLER and w not in _ASKING_AFTER]
        if len(alone) - n <= 4 and " ".join(others) == " ".join(words[i : i + n]):
            return True  # "human", "a human please", "נציג בבקשה", "customer service?"
        if _asked(words, i, n):
            return True
    return False


def _asked(words: list[str], i: int, n: int) -> bool:
    """A request stands around the phrase at i: "want", "talk to", "please", "תעבירו"."""
    before = words[max(0, i - 3) : i]
    if any(w in _ASKING_BEFORE for w in before) or any(
        " ".join(before[j : j + 2]) in _ASKING_BEFORE for j in range(len(before) - 1)
    ):
        return True
    after = words[i + n : i + n + 2]
    return bool(after) and (after[0] in _ASKING_AFTER or " ".join(after) in _ASKING_AFTER)


def _mentioned(words: list[str], i: int, n: int) -> bool:
    """The person named at i is talked about ("the agent was", "תודה לנציג"), not asked for.

    Only a phrase that names a person without asking ("נציג", "real person"; not "transfer me",
    "לדבר עם מישהו") can be a mention."""
    phrase = words[i : i + n]
    if any(w in _ASKING_BEFORE for w in phrase) or not any(w in _PERSON_NOUNS for w in phrase):
        return False
    before = words[max(0, i - 3) : i]
    after = words[i + n : i + n + 3]
    return any(w in _MENTIONED_BEFORE for w in before) or any(w in _MENTIONED_AFTER for w in after)


def _negated_request(words: list[str], i: int) -> bool:
    """A negator takes back the request starting at i, over words that only fill the
    request out: "no need for a", "don't want to", "לא צריך", "אני לא רוצה"."""
    j = i - 1
    while j >= 0 and i - j <= 6:
        word = words[j]
        previous = words[j - 1] if j else ""
        if word in _NEGATING or (word == "t" and previous in _NEGATING_AUX):
            if word == "not" and previous == "can":
                return False  # "I can not get a human": a complaint
            if word == "אל" and j == i - 1 and words[i] in _PERSON_NOUNS:
                return False  # "תעבירו אותי אל נציג": "to", not "don't"
            earlier = words[max(0, j - 3) : j]
            return not any(w in _WHY for w in earlier)
        if " ".join(words[j : j + 2]) in _NO_NEED:
            return True
        if word in _FILLER or word in _ASKING_BEFORE or word in _NEGATED_SPAN or word in _WANTING:
            j -= 1
            continue
        return False
    return False


def _wants_to_leave(words: list[str]) -> bool:
    """One clause asks to cancel or leave, unless a negator takes it back."""
    for i, n in _matches(words, LEAVE_PHRASES):
        if not _negated_request(words, i) and not _routine(words, i, i + n):
            return True
    for i, word in enumerate(words):
        asked = (word in _CANCELLING and _cancels_something(words, i + 1)) or (
            word in _CANCEL_VERBS and any(w in _WANTING for w in words[max(0, i - 2) : i])
        )
        if asked and not _negated_request(words, i):
            return True
        if word in _LEAVING and any(w in _LEAVING_WHO for w in words[max(0, i - 2) : i]):
            rest = words[i + 1 :]
            if (not rest or (len(rest) <= 2 and rest[0] in _LEFT)) and not _negated_request(
                words, i
            ):
                return True
    return False


def _routine(words: list[str], start: int, i: int) -> bool:
    """The leaving phrase from `start` to i is about an everyday thing, not the customer's tie
    to the business: cancelling a booking or an order ("how do I cancel a transfer", "אפשר
    לבטל את התור של 5"), unless an account, a plan or a subscription follows in the clause
    ("cancel my order and my account"); switching to this business ("switching to you")."""
    if words[start] in _SWITCHING:
        return i < len(words) and words[i] in _TO_US
    while i < len(words) and words[i] in _DETERMINERS:
        i += 1
    if i >= len(words) or words[i] not in _ROUTINE:
        return False
    return not any(_phrase_at(words, j, _CANCELLED) for j in range(i + 1, len(words)))


def _cancels_something(words: list[str], i: int) -> bool:
    """A subscription, account or contract follows at i, after "my", "the", "את"."""
    while i < len(words) and words[i] in _DETERMINERS:
        i += 1
    return _phrase_at(words, i, _CANCELLED) > 0


def _plain_question(text: str, words: list[str]) -> bool:
    """A message that is one short question asking for information ("what time do you
    close?", "היי, כמה עולה המנוי?"): no "why", no negation, opened by a question word after
    any greeting, ending in the only question mark."""
    if not words or len(words) > _PLAIN_QUESTION_WORDS:
        return False
    rest = words[1:] if words[0] in _GREETINGS else words
    if not rest or rest[0] not in _ASKING_OPENERS:
        return False
    padded = f" {' '.join(rest)} "
    if _any_phrase(padded, _HOW_NOT_ASKING) or _any_phrase(padded, _WHY):
        return False
    if any(w in NEGATORS for w in rest):
        return False
    ended = _QUESTION_END.fullmatch(text.strip())
    if ended is None:
        return False
    body, tail = ended.groups()
    if "?" not in tail and "؟" not in tail:
        return False
    sentences = [part for part in _SENTENCES.split(body) if part.strip()]
    if sentences and all(w in _GREETINGS for w in tokens(sentences[0])):
        sentences = sentences[1:]
    return len(sentences) == 1


def _negated(words: list[str], i: int) -> bool:
    before = words[max(0, i - 3) : i]
    return any(w in NEGATORS for w in before)


def _words_of_note(words: list[str]) -> tuple[list[str], list[str]]:
    """The negative words and the reported problems in one clause, each phrase read once."""
    negative: list[str] = []
    problems: list[str] = []
    i = 0
    while i < len(words):
        for phrases, found in ((PROBLEMS, problems), (NEGATIVE, negative)):
            n = _phrase_at(words, i, phrases)
            # Phrases of two words or more carry their own negation ("not working", "לא עובד").
            if n and (n > 1 or not _negated(words, i)):
                found.append(_shown(words[i : i + n]))
                break
        else:
            n = _phrase_at(words, i, POSITIVE)
            if n and _negated(words, i):
                negative.append(_shown(words[max(0, i - 1) : i + n]))
            else:
                n = 0
        i += n or 1
    wait = _measured_wait(words)
    if wait:
        problems.append(wait)
    return negative, problems


def _measured_wait(words: list[str]) -> str:
    """ "waiting 3 weeks", "been 2 days", "מחכה כבר שעה": the words from the wait to its length."""
    for i, word in enumerate(words):
        if word not in _WAITING:
            continue
        # "been" only right before the time ("it's been two weeks", not "been a great week"),
        # "already" right next to it ("3 weeks already", "כבר שבוע").
        if word == "been":
            span = range(i + 1, i + 3)
        elif word in _ALREADY:
            span = range(max(0, i - 2), i + 3)
        else:
            span = range(max(0, i - 4), i + 6)
        for j in span:
            if j < len(words) and _a_length_of_time(words, j):
                return _shown(words[min(i, j) : max(i, j) + 1])
    return ""


def _shown(words: list[str]) -> str:
    """Words of the normal form as a reason shows them: Hebrew final letters put back."""
    return _FINAL_AT_END.sub(lambda m: m[1].translate(_UNFOLD), " ".join(words))


def _a_length_of_time(words: list[str], j: int) -> bool:
    if not (words[j] in _TIMES or _SHORT_TIME.fullmatch(words[j])):
        return False
    around = words[max(0, j - 2) : j] + words[j + 1 : j + 2]
    return not any(w in _NOT_A_WAIT for w in around)


def _all_caps(text: str) -> bool:
    letters = _LATIN.findall(text)
    if len(letters) < 8:
        return False
    upper = sum(1 for ch in letters if ch.isupper())
    return upper / len(letters) >= 0.7 and len(_UPPER_WORD.findall(text)) >= 2


def _shouting(text: str) -> str:
    match = _SHOUT.search(text)
    if not match:
        return ""
    return "!!!" if "!" in match.group() or "！" in match.group() else "???"


def _again(words: list[str]) -> bool:
    for i, word in enumerate(words):
        if word in AGAIN and not any(w in _THANKS for w in words[max(0, i - 2) : i]):
            return True
    return False


def _strip_prefix(word: str) -> str | None:
    for k in (1, 2, 3):
        if len(word) - k < 2 or word[k - 1] not in _PREFIXES:
            return None
        if word[k:] in _VOCABULARY or word[k:] in _SPELLINGS:
            return word[k:]
    return None


def _unrepeated(word: str) -> str | None:
    """A known word typed with a letter held down: "נציגגג", "pleeease", "תבטלוו"."""
    for shorter in (re.sub(r"(.)\1{2,}", r"\1", word), re.sub(r"(.)\1+", r"\1", word)):
        if shorter != word and len(shorter) >= 4:
            if _known(shorter):
                return shorter
            stripped = _strip_prefix(shorter)
            if stripped:
                return stripped
    return None


MAX_GLUED = 30


def _unglued(word: str) -> str | None:
    """Two known words typed without the space: "רוצהלבטל", "תעבירולי"."""
    shortest = 3 if _LATIN.match(word) else 2
    # Longer than two words can be: each split would cost a copy of the word.
    if not 2 * shortest + 2 <= len(word) <= MAX_GLUED:
        return None
    for k in range(shortest, len(word) - shortest + 1):
        head, tail = word[:k], word[k:]
        if _known(head) and (_known(tail) or _strip_prefix(tail)):
            return f"{head} {_strip_prefix(tail) or tail}"
    return None


def _fuzzy(word: str) -> str | None:
    if len(word) < 7:
        return None
    for target in _FUZZY:
        if abs(len(target) - len(word)) <= 2 and word[0] == target[0]:
            limit = 2 if len(target) >= 10 else 1
            if _distance(word, target, limit) <= limit:
                return target
    return None


def _distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (adjacent swaps count one), cut off above `limit`."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


_PERSON_NOUNS = frozenset(
    {word for phrase in PERSON_WORDS for word in phrase.split()}
    | {"representative", "people", "נציג"}
)

_VOCABULARY = frozenset(
    word
    for group in (
        PERSON_PHRASES,
        PERSON_WORDS,
        _ASKING_BEFORE,
        _ASKING_AFTER,
        LEAVE_PHRASES,
        SWEARING,
        NEGATIVE,
        PROBLEMS,
        _WAITING,
        _TIMES,
        POSITIVE,
        NEGATORS,
        REPEATED_ASKING,
        AGAIN,
        _CANCELLING,
        _CANCELLED,
        _WANTING,
        _CANCEL_VERBS,
        _LEAVING,
        _LEAVING_WHO,
        _LEFT,
        _LEAVE_SHORT,
        _NEGATING,
        _NO_NEED,
        _NEGATED_SPAN,
        _MENTIONED_AFTER,
        _MENTIONED_BEFORE,
        _WHY,
        _ROUTINE,
        _TO_US,
        _SWITCHING,
        frozenset(_SPELLINGS.values()),
    )
    for phrase in group
    for word in phrase.split()
)
