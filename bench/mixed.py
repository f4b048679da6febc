"""Varied, real-world-like documents for the search-quality benchmark, made locally.

A search index in the wild holds more than English prose: manuals in several languages,
source code, parts tables, checklists. A reduced precision that keeps prose rankings may
still move code or German text around, so the quality bar is measured on a mix. Every
generator draws from its own seeded RNG, so a document's text depends only on its name
and `VERSION`: the same corpus on every machine, no download, no model hub.

Kinds: English prose (the Markov chain of harness/prose.py), prose in German, French,
Spanish, Portuguese, Russian, Chinese and Japanese, Python/JavaScript/SQL source, tables,
lists, and technical-manual procedures.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from harness.prose import prose, seeded

VERSION = 1

# ---- several languages: phrase banks combined into sentences -----------------------------
# Each bank: subjects, predicates, complements. Combining one of each with a number or a
# name gives sentences that read naturally and rarely repeat.
_LANG: dict[str, tuple[list[str], list[str], list[str]]] = {
    "de": (
        [
            "Die Pumpe",
            "Der Techniker",
            "Das Steuergerät",
            "Die Wartungsanleitung",
            "Der Hersteller",
            "Das Ventil",
            "Die Bedienerin",
            "Der Sensor",
            "Das Prüfprotokoll",
            "Die Abteilung",
        ],
        [
            "überprüft regelmäßig",
            "meldet einen Fehler bei",
            "ersetzt nach Ablauf der Frist",
            "misst die Temperatur",
            "schaltet automatisch ab bei",
            "dokumentiert sorgfältig",
            "empfiehlt den Austausch von",
            "regelt den Druck in",
            "speichert die Messwerte für",
            "kalibriert vor jeder Schicht",
        ],
        [
            "der Hauptleitung",
            "dem Kühlkreislauf",
            "allen Filtern im Gehäuse",
            "dem zweiten Anschluss",
            "der Hydraulikanlage",
            "jedem Wartungsintervall",
            "den Dichtungen aus Gummi",
            "dem Motorraum",
            "der gesamten Baugruppe",
            "der Steuerung im Schaltschrank",
        ],
    ),
    "fr": (
        [
            "Le technicien",
            "La pompe",
            "Le fabricant",
            "La notice d'utilisation",
            "Le capteur",
            "L'opératrice",
            "Le service client",
            "La vanne principale",
            "Le rapport d'essai",
            "L'équipe de maintenance",
        ],
        [
            "vérifie chaque semaine",
            "signale une panne dans",
            "remplace après usure",
            "mesure la pression de",
            "coupe automatiquement",
            "décrit en détail",
            "recommande le nettoyage de",
            "règle le débit dans",
            "enregistre les valeurs de",
            "calibre avant la mise en service",
        ],
        [
            "le circuit de refroidissement",
            "la conduite principale",
            "tous les filtres du boîtier",
            "le deuxième raccord",
            "l'installation hydraulique",
            "chaque intervalle d'entretien",
            "les joints en caoutchouc",
            "le compartiment moteur",
            "l'ensemble du module",
            "l'armoire électrique",
        ],
    ),
    "es": (
        [
            "El técnico",
            "La bomba",
            "El fabricante",
            "El manual de usuario",
            "El sensor",
            "La operadora",
            "El servicio de atención",
            "La válvula principal",
            "El informe de pruebas",
            "El equipo de mantenimiento",
        ],
        [
            "revisa cada semana",
            "detecta una avería en",
            "sustituye tras el desgaste",
            "mide la presión de",
            "apaga automáticamente",
            "describe con detalle",
            "recomienda limpiar",
            "regula el caudal en",
            "registra los valores de",
            "calibra antes de la puesta en marcha",
        ],
        [
            "el circuito de refrigeración",
            "la tubería principal",
            "todos los filtros de la carcasa",
            "la segunda conexión",
            "la instalación hidráulica",
            "cada intervalo de mantenimiento",
            "las juntas de goma",
            "el compartimento del motor",
            "todo el conjunto",
            "el armario eléctrico",
        ],
    ),
    "pt": (
        [
            "O técnico",
            "A bomba",
            "O fabricante",
            "O manual do utilizador",
            "O sensor",
            "A operadora",
            "O apoio ao cliente",
            "A válvula principal",
            "O relatório de ensaio",
            "A equipa de manutenção",
        ],
        [
            "verifica todas as semanas",
            "deteta uma falha em",
            "substitui depois do desgaste",
            "mede a pressão de",
            "desliga automaticamente",
            "descreve em pormenor",
            "recomenda a limpeza de",
            "regula o caudal em",
            "regista os valores de",
            "calibra antes do arranque",
        ],
        [
            "o circuito de arrefecimento",
            "a conduta principal",
            "todos os filtros da caixa",
            "a segunda ligação",
            "a instalação hidráulica",
            "cada intervalo de manutenção",
            "as juntas de borracha",
            "o compartimento do motor",
            "todo o conjunto",
            "o quadro elétrico",
        ],
    ),
    "ru": (
        [
            "Техник",
            "Насос",
            "Производитель",
            "Руководство пользователя",
            "Датчик",
            "Оператор",
            "Служба поддержки",
            "Главный клапан",
            "Протокол испытаний",
            "Бригада обслуживания",
        ],
        [
            "проверяет каждую неделю",
            "сообщает о неисправности в",
            "заменяет после износа",
            "измеряет давление в",
            "автоматически отключает",
            "подробно описывает",
            "рекомендует очистить",
            "регулирует расход в",
            "записывает показания",
            "калибрует перед запуском",
        ],
        [
            "контуре охлаждения",
            "главном трубопроводе",
            "всех фильтрах корпуса",
            "втором разъёме",
            "гидравлической системе",
            "каждом интервале обслуживания",
            "резиновых уплотнениях",
            "моторном отсеке",
            "всём узле",
            "электрическом шкафу",
        ],
    ),
    "zh": (
        [
            "技术人员",
            "水泵",
            "制造商",
            "用户手册",
            "传感器",
            "操作员",
            "客户服务部",
            "主阀门",
            "测试报告",
            "维护团队",
        ],
        [
            "每周检查",
            "报告故障于",
            "磨损后更换",
            "测量压力在",
            "自动关闭",
            "详细说明",
            "建议清洁",
            "调节流量在",
            "记录数值于",
            "启动前校准",
        ],
        [
            "冷却回路",
            "主管道",
            "外壳内的所有过滤器",
            "第二个接口",
            "液压系统",
            "每个维护周期",
            "橡胶密封圈",
            "发动机舱",
            "整个组件",
            "电气柜",
        ],
    ),
    "ja": (
        [
            "技術者は",
            "ポンプは",
            "メーカーは",
            "取扱説明書は",
            "センサーは",
            "オペレーターは",
            "サポート窓口は",
            "主弁は",
            "試験報告書は",
            "保守チームは",
        ],
        [
            "毎週点検する",
            "異常を報告する",
            "摩耗後に交換する",
            "圧力を測定する",
            "自動的に停止する",
            "詳しく説明する",
            "清掃を推奨する",
            "流量を調整する",
            "測定値を記録する",
            "起動前に校正する",
        ],
        [
            "冷却回路で",
            "主配管で",
            "筐体内のすべてのフィルターで",
            "第二接続部で",
            "油圧装置で",
            "各保守周期で",
            "ゴム製パッキンで",
            "エンジンルームで",
            "組立品全体で",
            "制御盤で",
        ],
    ),
}
_CJK = {"zh", "ja"}


def _lang_page(lang: str) -> Callable[[random.Random], str]:
    subjects, predicates, complements = _LANG[lang]

    def page(rng: random.Random) -> str:
        paras = []
        for _ in range(rng.randint(3, 5)):
            sentences = []
            for _ in range(rng.randint(4, 8)):
                s, p, c = rng.choice(subjects), rng.choice(predicates), rng.choice(complements)
                n = rng.randint(2, 980)
                if lang in _CJK:
                    sentences.append(f"{s}{c}{p}（{n}）。")
                else:
                    sentences.append(f"{s} {p} {c} ({n}).")
            paras.append(("" if lang in _CJK else " ").join(sentences))
        return "\n".join(paras)

    return page


# ---- source code ------------------------------------------------------------------------
_NOUNS = [
    "order",
    "invoice",
    "user",
    "session",
    "page",
    "chunk",
    "queue",
    "record",
    "sensor",
    "valve",
    "report",
    "batch",
    "token",
    "account",
    "device",
    "cache",
    "job",
    "worker",
    "file",
    "span",
]
_VERBS = [
    "load",
    "parse",
    "store",
    "fetch",
    "merge",
    "validate",
    "render",
    "count",
    "flush",
    "resolve",
    "encode",
    "split",
    "retry",
    "sync",
    "close",
    "open",
    "index",
    "scan",
    "update",
    "delete",
]


def _ident(rng: random.Random, camel: bool = False) -> str:
    verb, noun = rng.choice(_VERBS), rng.choice(_NOUNS)
    return f"{verb}{noun.capitalize()}" if camel else f"{verb}_{noun}"


# Source code: one template a language, filled in the order the generator draws.
_PYTHON = '''\
def {fn}({arg}: dict, limit: int = {limit}) -> list[str]:
    """{doc} for each {other} up to the limit."""
    result = []
    for key, value in {arg}.items():
        if len(result) >= limit:
            break
        if value.get('{other}_id') == {id}:
            result.append(f'{{key}}:{{value["{other}"]}}')
    return result
'''
_JAVASCRIPT = """\
export async function {fn}({noun}Id, options = {{}}) {{
  const url = `/api/v{version}/{noun}s/${{{noun}Id}}`;
  const response = await fetch(url, {{ method: '{method}' }});
  if (!response.ok) throw new Error(`{fn} failed: ${{response.status}}`);
  const data = await response.json();
  return data.items.filter((item) => item.{field}Count > {count});
}}
"""
_SQL = """\
SELECT {a}.id, {a}.name, COUNT({b}.id) AS {b}_count
FROM {a}s AS {a}
LEFT JOIN {b}s AS {b} ON {b}.{a}_id = {a}.id
WHERE {a}.created_at >= DATE '20{year}-{month:02d}-01'
  AND {a}.status IN ('{status}', 'queued')
GROUP BY {a}.id, {a}.name
HAVING COUNT({b}.id) > {having}
ORDER BY {b}_count DESC LIMIT {limit};
"""


def _python(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(3, 5)):
        fn, arg, other = _ident(rng), rng.choice(_NOUNS), rng.choice(_NOUNS)
        limit, id_ = rng.randint(2, 500), rng.randint(1, 9999)
        doc = fn.replace("_", " ").capitalize()
        out.append(_PYTHON.format(fn=fn, arg=arg, other=other, limit=limit, id=id_, doc=doc))
    return "\n".join(out)


def _javascript(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(3, 5)):
        fn, noun = _ident(rng, camel=True), rng.choice(_NOUNS)
        version, method = rng.randint(1, 4), rng.choice(["GET", "POST", "PUT"])
        field, count = rng.choice(_NOUNS), rng.randint(0, 99)
        out.append(
            _JAVASCRIPT.format(fn=fn, noun=noun, version=version, method=method, field=field, count=count)
        )
    return "\n".join(out)


def _sql(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(4, 6)):
        a, b = rng.sample(_NOUNS, 2)
        year, month = rng.randint(10, 25), rng.randint(1, 12)
        status, having, limit = (
            rng.choice(["open", "done", "failed"]),
            rng.randint(1, 50),
            rng.randint(5, 100),
        )
        out.append(_SQL.format(a=a, b=b, year=year, month=month, status=status, having=having, limit=limit))
    return "\n".join(out)


# ---- tables, lists, manuals ---------------------------------------------------------------
_PARTS = [
    "Hex bolt",
    "Washer",
    "O-ring",
    "Bearing",
    "Gasket",
    "Hose clamp",
    "Fuse",
    "Relay",
    "Filter cartridge",
    "Drive belt",
    "Spring pin",
    "Circlip",
    "Cable gland",
    "Solenoid",
    "Impeller",
    "Seal kit",
]
_COMPONENTS = [
    "filter housing",
    "pressure relief valve",
    "drive belt",
    "control board",
    "intake manifold",
    "coolant pump",
    "fan assembly",
    "door interlock",
    "heating element",
    "level sensor",
    "gearbox",
    "brake pad",
    "spindle",
    "display module",
    "power supply",
]
_FAULTS = [
    "overheating",
    "low pressure",
    "no power",
    "abnormal noise",
    "sensor timeout",
    "leak detected",
    "motor stall",
    "communication error",
    "overcurrent",
    "door open",
]


def _table(rng: random.Random) -> str:
    rows = ["Part no. | Description | Qty | Unit price | Supplier"]
    for _ in range(rng.randint(18, 30)):
        rows.append(
            f"{rng.choice('ABCDEFGHKMPRS')}{rng.randint(1000, 99999)}-{rng.randint(10, 99)} | "
            f"{rng.choice(_PARTS)} M{rng.choice([4, 5, 6, 8, 10, 12])}x{rng.randint(8, 120)} | "
            f"{rng.randint(1, 500)} | {rng.randint(0, 240)}.{rng.randint(0, 99):02d} EUR | "
            f"{rng.choice(['Bosch', 'SKF', 'Würth', 'Festo', 'Schaeffler', 'Parker', 'Omron'])}"
        )
    return "\n".join(rows)


def _list(rng: random.Random) -> str:
    chain = prose()
    out = []
    for _ in range(rng.randint(2, 3)):
        topic = rng.randrange(len(chain.topics))
        out.append(f"Checklist {rng.randint(1, 99)}: {chain.topics[topic][0]}")
        for i in range(rng.randint(6, 10)):
            words = chain.sentence(rng, chain.topics[topic][1])[: rng.randint(6, 14)]
            out.append(f"{i + 1}. " + " ".join(words).rstrip(".,;:") + ".")
    return "\n".join(out)


def _manual(rng: random.Random) -> str:
    out = []
    for _ in range(rng.randint(2, 3)):
        comp = rng.choice(_COMPONENTS)
        section = f"{rng.randint(1, 12)}.{rng.randint(1, 9)}"
        out.append(f"{section} Replacing the {comp}")
        out.append(
            f"WARNING: Disconnect the unit from mains power and wait {rng.randint(2, 15)} minutes "
            f"before opening the {rng.choice(_COMPONENTS)}."
        )
        for i in range(rng.randint(4, 7)):
            out.append(
                f"Step {i + 1}: {rng.choice(['Remove', 'Loosen', 'Inspect', 'Clean', 'Tighten', 'Replace'])} the "
                f"{rng.choice(_COMPONENTS)} using a {rng.choice([8, 10, 13, 17, 19])} mm socket; torque the "
                f"fasteners to {rng.randint(4, 90)} N·m."
            )
        fault = rng.choice(_FAULTS)
        out.append(
            f"Error E{rng.randint(10, 99)}{rng.choice('ABCF')}: {fault}. Check the {comp} and the "
            f"{rng.choice(_COMPONENTS)}; if the fault persists after {rng.randint(2, 5)} restarts, "
            f"contact service with the serial number."
        )
    return "\n".join(out)


def _english(rng: random.Random) -> str:
    chain = prose()
    return chain.page(rng, rng.randrange(len(chain.topics)))


KINDS: dict[str, Callable[[random.Random], str]] = {
    "prose-en": _english,
    **{f"prose-{lang}": _lang_page(lang) for lang in _LANG},
    "code-python": _python,
    "code-js": _javascript,
    "code-sql": _sql,
    "table": _table,
    "list": _list,
    "manual": _manual,
}


def documents(n_per_kind: int, pages: int = 3) -> list[tuple[str, list[str]]]:
    """`n_per_kind` documents of `pages` pages for each kind, as (kind, page texts)."""
    docs = []
    for kind, make in KINDS.items():
        for i in range(n_per_kind):
            rng = seeded(f"mixed-v{VERSION}-{kind}-{i}")
            docs.append((kind, [make(rng) for _ in range(pages)]))
    return docs
