"""Policy-text files (raw-source contract, section 6) of the cross-border e-commerce pilot
cities: ``policy_texts/index.csv`` and one UTF-8 text per document.

Each document is drafted from filler sentences and sentences that carry exactly one keyword of
the policy-tool dictionary (``ref_policy_tool_keyword``), as many of each tool type as the city's
planted rates draw, so that counting keywords in the texts recovers the planted intensities.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from models_py import reference
from models_py.generate.business_cycle import TOOL_TYPES
from models_py.generate.city_world import CityWorld
from models_py.generate.table_files import files_rng

# Two sentences per keyword of the policy-tool dictionary (dbt/seeds/ref_policy_tool_keyword.csv),
# each containing its keyword exactly once and no other keyword.
POLICY_SENTENCES = {
    "资金支持": ("市财政每年安排专项资金，对综合试验区建设给予资金支持。",
             "对新认定的跨境电商产业园区，按投资额给予一定比例的资金支持。"),
    "人才培养": ("鼓励本地高校开设跨境电商相关专业，加强复合型人才培养。",
             "依托职业院校建设实训基地，完善跨境电商人才培养体系。"),
    "基础设施": ("加快国际物流枢纽、保税仓储等基础设施建设。",
             "推进综合试验区信息网络基础设施升级改造。"),
    "技术支持": ("引导科研院所为中小跨境电商企业提供技术支持。",
             "对企业应用大数据、云计算等新技术给予技术支持。"),
    "公共服务": ("建设跨境电商线上综合平台，提升公共服务能力。",
             "完善企业备案、数据统计等公共服务功能。"),
    "人才引进": ("将跨境电商高层次人才纳入全市人才引进计划。",
             "对符合条件的跨境电商领军人物，按规定落实人才引进待遇。"),
    "税收优惠": ("认真落实出口退税和小微企业税收优惠政策。",
             "符合条件的跨境电商企业按规定享受税收优惠。"),
    "金融支持": ("鼓励金融机构开发适合跨境电商的信贷产品，强化金融支持。",
             "引导保险机构扩大出口信用保险覆盖面，加大金融支持力度。"),
    "法规管制": ("健全跨境电商交易规则，依法加强法规管制。",
             "加强对跨境电商经营主体的法规管制和信用监管。"),
    "目标规划": ("科学制定综合试验区发展的目标规划。",
             "按照全市跨境电商发展目标规划，分年度推进重点任务。"),
    "通关便利": ("推行无纸化申报和分类通关，提高通关便利化水平。",
             "实行“清单核放、汇总申报”模式，促进通关便利。"),
    "知识产权保护": ("加强跨境电商领域知识产权保护，严厉打击侵权假冒行为。",
               "建立境外知识产权保护援助机制。"),
    "政府采购": ("将符合条件的跨境电商综合服务纳入政府采购范围。",
             "在政府采购活动中同等对待本地跨境电商平台企业。"),
    "贸易管制": ("依法落实进出口商品贸易管制措施。",
             "做好跨境电商零售进口商品的贸易管制衔接工作。"),
    "海外机构": ("支持企业在重点市场设立海外机构和营销网络。",
             "鼓励龙头企业建设海外机构，拓展国际营销渠道。"),
    "示范推广": ("开展跨境电商示范企业评选，做好成熟经验的示范推广。",
             "总结综合试验区创新做法，加强复制和示范推广。"),
    "品牌建设": ("支持企业加强自主品牌建设，提升产品附加值。",
             "推动跨境电商出口品牌建设，培育一批知名品牌。"),
    "服务外包": ("鼓励企业通过服务外包方式发展跨境电商运营业务。",
             "支持跨境电商企业承接国际服务外包业务。"),
}


def policy_tools() -> dict[str, list[str]]:
    """The keywords of each policy-tool type (supply, environment, demand), from the seed."""
    t = reference.table("ref_policy_tool_keyword")
    return {tool: list(words) for tool, words in t.groupby("tool_type", sort=False)["keyword"]}


FILLERS = (
    "各有关部门要高度重视，加强组织领导，明确责任分工，确保各项任务落到实处。",
    "建立综合试验区建设工作联席会议制度，定期研究解决重大问题。",
    "加强统计监测和运行分析，定期评估工作推进情况。",
    "积极培育跨境电商市场主体，推动传统外贸和制造企业转型升级。",
    "推动跨境电商与产业集群协同发展，打造特色产业带。",
    "发挥行业协会作用，加强行业自律和交流合作。",
    "加强宣传引导，营造全社会关注跨境电商发展的良好氛围。",
    "坚持问题导向，及时协调解决企业反映的困难。",
)
TOPICS = ("加快中国（{pilot}）跨境电子商务综合试验区建设", "促进跨境电子商务高质量发展",
          "推进跨境电商产业园区建设", "做好跨境电商综合试验区年度重点工作")
KINDS = ("实施意见", "若干措施", "工作方案", "行动计划")
SECTIONS = ("一、总体要求", "二、重点任务", "三、政策措施", "四、保障措施")


def keyword_counts(text: str) -> dict[str, int]:
    """Occurrences of each policy-tool type's keywords in ``text``."""
    return {tool: sum(text.count(k) for k in words) for tool, words in policy_tools().items()}


def policy_documents(world: CityWorld, seed: int, last_year: int) -> pd.DataFrame:
    """Documents of the cross-border e-commerce pilot cities, issued after approval up to the
    end of ``last_year``: index columns, the text, and its keyword counts by tool type.

    Each document carries Poisson(rate_k) keyword sentences of tool type k, where rate_k is the
    city's planted rate (``world.pilots``), spread uniformly over the type's keywords.
    """
    rng = files_rng(seed, 9)
    short = world.cities.set_index("city_id")["short_name"]
    docs = []
    for pilot in world.pilots.itertuples():
        approval = dt.date.fromisoformat(pilot.approval_date)
        first_day = approval + dt.timedelta(days=15)
        seq = 0
        for year in range(first_day.year, last_year + 1):
            start = max(first_day, dt.date(year, 1, 1))
            span = (dt.date(year, 12, 31) - start).days
            if span < 0:
                continue
            n_docs = rng.poisson(1.5) + (1 if year == first_day.year else 0)
            days = np.sort(rng.integers(0, span + 1, n_docs))
            for d in days:
                seq += 1
                date = start + dt.timedelta(days=int(d))
                rates = (pilot.rate_supply, pilot.rate_environment, pilot.rate_demand)
                text, title = _draft(rng, pilot, date, rates)
                docs.append({
                    "文件编号": f"{short[pilot.city_id]}政办发〔{date.year}〕{seq}号",
                    "城市": pilot.city_name, "发布日期": date.isoformat(), "标题": title,
                    "文件名": f"{pilot.city_id}_{date:%Y%m%d}_{seq:02d}.txt",
                    "city_id": pilot.city_id, "text": text, **keyword_counts(text)})
    columns = ["文件编号", "城市", "发布日期", "标题", "文件名", "city_id", "text", *TOOL_TYPES]
    return pd.DataFrame(docs, columns=columns)


def _draft(rng, pilot, date: dt.date, rates) -> tuple[str, str]:
    """The text and title of one document with planted keyword sentences."""
    kind = KINDS[rng.integers(len(KINDS))]
    topic = TOPICS[rng.integers(len(TOPICS))].format(pilot=pilot.pilot_name)
    title = f"{pilot.city_name}人民政府办公室关于{topic}的{kind}"
    sentences = list(rng.choice(FILLERS, rng.integers(3, 7), replace=False))
    for tool, rate in zip(TOOL_TYPES, rates):
        words = policy_tools()[tool]
        for _ in range(rng.poisson(rate)):
            word = words[rng.integers(len(words))]
            sentences.append(POLICY_SENTENCES[word][rng.integers(2)])
    order = rng.permutation(len(sentences))
    body = [sentences[i] for i in order]
    parts = np.array_split(np.arange(len(body)), len(SECTIONS))
    lines = [title, "", "各区、县（市）人民政府，市政府各部门、各直属单位：",
             f"　　为贯彻落实国务院关于同意设立中国（{pilot.pilot_name}）跨境电子商务综合试验区"
             f"的批复精神，结合本市实际，制定本{kind}。"]
    for head, idx in zip(SECTIONS, parts):
        lines.append(head)
        lines.extend("　　" + body[i] for i in idx)
    lines += ["", f"{pilot.city_name}人民政府办公室", f"{date.year}年{date.month}月{date.day}日", ""]
    return "\n".join(lines), title


def write_policy_index(out_dir: Path, docs: pd.DataFrame) -> Path:
    """``policy_texts/index.csv`` (UTF-8 with BOM)."""
    path = out_dir / "policy_texts" / "index.csv"
    docs[["文件编号", "城市", "发布日期", "标题", "文件名"]].to_csv(
        path, index=False, encoding="utf-8-sig", lineterminator="\n")
    return path


def write_policy_text(out_dir: Path, name: str, text: str) -> Path:
    """One UTF-8 policy text."""
    path = out_dir / "policy_texts" / name
    path.write_text(text, encoding="utf-8")
    return path
