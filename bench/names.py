"""Pools of synthetic names for generated profiles: people (Latin, with diacritics, non-Latin), teams, org tags.

Each name is a pure function of its rank and the run's seed, so a pool of millions costs no memory.
"""

from __future__ import annotations

import random

FIRST = (
    "Ada", "Alexander", "Amil", "Ana", "Anthony", "Aravind", "Arjun", "Aviral", "Bei", "Byron", "Camille",
    "Carlos", "Chloé", "Chuning", "Clare", "Corey", "Daniel", "David", "Deepak", "Dhruv", "Diego", "Dávid",
    "Edgar", "Elena", "Emma", "Eric", "Fei", "François", "Gamaleldin", "Gido", "Hana", "Han", "Håkon",
    "Hao", "Igor", "Iñigo", "Ingrid", "Jakob", "James", "Jiahui", "Jiri", "João", "Joel", "Jonathan",
    "José", "Joshua", "Jürgen", "Karthik", "Kevin", "Kourosh", "Kuang-Huei", "KwangHwan", "Laura", "Lili",
    "Lisa", "Luke", "Łukasz", "Maria", "Mario", "Maruan", "Megan", "Mehdi", "Mengjiao", "Michael", "Min-jun",
    "Miroslav", "Mónica", "Nadia", "Noah", "Noémie", "Ofir", "Oleh", "Pete", "Petko", "Philipp", "Pieter",
    "Priya", "Rafael", "Rishabh", "Robby", "Rohan", "Ruoxi", "Satoshi", "Sebastian", "Sébastien", "Sergey",
    "Seyed", "Shariq", "Sherry", "Shuang", "Simon", "Sofía", "Søren", "Tariq", "Thang", "Ting", "Vikash",
    "Vincent", "Wei", "Wenlong", "Xavier", "Xingchen", "Yash", "Yilun", "Yuqing", "Zoë", "Çağlar",
)
LAST = (
    "Abbeel", "Agarwal", "Aguilar-Simon", "Al-Shedivat", "Anil", "Arnold", "Baker", "Batzner", "Bieber",
    "Brohan", "Brown", "Carbajal", "Chang", "Chen", "Cho", "Choi", "Chung", "Co-Reyes", "Costales", "Culp",
    "David", "Driess", "Du", "Duéñez-Guzmán", "Elsayed", "Erdős", "Farebrother", "Ferret", "Foerster",
    "Freeman", "Frey", "García", "Gao", "Geng", "Georgiev", "Ghasemipour", "Greaves", "Grover", "Gupta",
    "Hakhamaneshi", "Harrison", "Hron", "Huang", "Iqbal", "Janner", "Kamath", "Kataoka", "Kim", "Kowalczyk",
    "Kumar", "Lee", "Leibo", "Levine", "Li", "Liu", "Lu", "Lynch", "Majumdar", "Merchant", "Metz", "Müller",
    "Nachum", "Nagabandi", "New", "Nguyễn", "Núñez", "O'Brien", "Østergaard", "Pardinas", "Park", "Patel",
    "Pathak", "Pearson", "Peng", "Piche", "Puig", "Raichuk", "Rajeswaran", "Rybkin", "Sajjadi", "Sato",
    "Schaekermann", "Schroeder de Witt", "Schwarzer", "Sha", "Shah", "Sharma", "Singh", "Stone", "Suarez",
    "Subramaniam", "Sun", "Suzuki", "Tanaka", "Tenenbaum", "Tompson", "Torralba", "Tremblay", "van de Ven",
    "Vazquez", "Venuto", "Vezhnevets", "Wahid", "Wan", "Wang", "Wu", "Xia", "Xiao", "Yang", "Zeng", "Zhang",
    "Zhao", "Zhou", "Zhu", "Zhuang", "Šimánek",
)
# Whole non-Latin names, built from a family part and a given part in each script's own order.
NON_LATIN = (
    (("王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周"),
     ("伟", "芳", "娜", "敏", "静", "磊", "军", "洋", "杰", "明轩"), ""),
    (("佐藤", "鈴木", "高橋", "田中", "渡辺", "伊藤"), ("翔太", "陽菜", "大輝", "美咲", "蓮", "結衣"), " "),
    (("김", "이", "박", "최", "정"), ("민준", "서연", "지호", "하은", "도윤"), ""),
)
NON_LATIN_GIVEN_FIRST = (
    (("Дмитрий", "Алексей", "Мария", "Анна", "Сергей", "Ольга"),
     ("Иванов", "Смирнов", "Кузнецов", "Попова", "Соколова")),
    (("Γιώργος", "Νίκος", "Ελένη", "Μαρία"), ("Παπαδόπουλος", "Οικονόμου", "Γεωργίου")),
    (("محمد", "أحمد", "فاطمة"), ("علي", "حسن", "خليل")),
)
INITIALS = "ABCDEFGHJKLMNPRSTVWXYZ"
TEAMS = (
    "Gemini", "Gemma", "Llama", "Qwen", "GLM", "Mistral", "Falcon", "OLMo", "Phi", "BLOOM", "Chameleon",
    "Kimi", "DeepSeek", "Aria", "Yi", "Hunyuan", "Jamba", "Nemotron", "Granite", "Pythia",
)
EXTRA_ORGS = (
    "google", "meta", "microsoft", "openai", "nvidia", "cmu", "tsinghua", "pku", "oxford", "toronto",
    "eth-zurich", "epfl", "kaist", "inria", "max-planck", "ucl", "tum", "allen-ai", "huawei", "alibaba",
    "tencent", "bytedance", "samsung", "ibm-research", "sony-ai", "uw", "nyu", "princeton", "harvard",
    "caltech", "cornell", "columbia", "ucla", "ucsd", "uiuc", "umich", "gatech", "mpi-is", "vector",
    "naver", "kyoto", "tokyo", "sjtu", "zju", "fudan", "ntu", "nus", "hkust", "iit-bombay", "technion",
)


def person_name(seed: int, rank: int, non_latin_rate: float, initial_rate: float) -> str:
    """The name of the co-author of popularity `rank` (0 = most frequent) in the run seeded `seed`."""
    rng = random.Random(seed * 1_000_003 + rank)
    if rng.random() < non_latin_rate:
        return _non_latin(rng)
    first = rng.choice(FIRST)
    if rng.random() < initial_rate:
        middle = " ".join(f"{rng.choice(INITIALS)}." for _ in range(1 + (rng.random() < 0.15)))
        first = f"{first} {middle}"
    return f"{first} {rng.choice(LAST)}"


def _non_latin(rng: random.Random) -> str:
    if rng.random() < 0.6:
        families, givens, glue = rng.choice(NON_LATIN)
        return f"{rng.choice(families)}{glue}{rng.choice(givens)}"
    given_names, family_names = rng.choice(NON_LATIN_GIVEN_FIRST)
    return f"{rng.choice(given_names)} {rng.choice(family_names)}"


def team_name(rank: int) -> str:
    """A team byline name ("Gemini Team"); ranks past the list get a version number."""
    base = TEAMS[rank % len(TEAMS)]
    version = rank // len(TEAMS)
    return f"{base} Team" if version == 0 else f"{base} {version + 1} Team"


def org_tag(rank: int, seed_tags: tuple[str, ...]) -> str:
    """An org tag: the seeds' own tags first (most frequent first), then others, then numbered labs."""
    pool = seed_tags + tuple(t for t in EXTRA_ORGS if t not in seed_tags)
    if rank < len(pool):
        return pool[rank]
    return f"lab-{rank - len(pool) + 1}"
