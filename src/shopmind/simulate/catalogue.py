"""A bilingual catalogue: categories, brands, English and Chinese titles, prices."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

# category: (Chinese name, mean price in currency units, brands (en, zh), nouns (en, zh))
CATEGORIES: dict[str, tuple[str, float, list[tuple[str, str]], list[tuple[str, str]]]] = {
    "electronics": (
        "电子产品",
        90.0,
        [("Huawei", "华为"), ("Xiaomi", "小米"), ("Lenovo", "联想"), ("Anker", "安克")],
        [
            ("wireless earbuds", "无线耳机"),
            ("power bank", "充电宝"),
            ("smart watch", "智能手表"),
            ("bluetooth speaker", "蓝牙音箱"),
        ],
    ),
    "fashion": (
        "服饰",
        45.0,
        [("Uniqlo", "优衣库"), ("Li-Ning", "李宁"), ("Anta", "安踏"), ("Bosideng", "波司登")],
        [
            ("t-shirt", "T恤"),
            ("down jacket", "羽绒服"),
            ("jeans", "牛仔裤"),
            ("sneakers", "运动鞋"),
        ],
    ),
    "beauty": (
        "美妆",
        30.0,
        [
            ("Perfect Diary", "完美日记"),
            ("Florasis", "花西子"),
            ("L'Oreal", "欧莱雅"),
            ("Estee Lauder", "雅诗兰黛"),
        ],
        [
            ("lipstick", "口红"),
            ("face cream", "面霜"),
            ("serum", "精华液"),
            ("sunscreen", "防晒霜"),
        ],
    ),
    "home": (
        "家居",
        55.0,
        [("Midea", "美的"), ("Supor", "苏泊尔"), ("Joyoung", "九阳"), ("IKEA", "宜家")],
        [
            ("rice cooker", "电饭煲"),
            ("blender", "破壁机"),
            ("storage box", "收纳盒"),
            ("desk lamp", "台灯"),
        ],
    ),
    "food": (
        "食品",
        12.0,
        [
            ("Three Squirrels", "三只松鼠"),
            ("Be&Cheery", "百草味"),
            ("Wahaha", "娃哈哈"),
            ("Yili", "伊利"),
        ],
        [
            ("mixed nuts", "坚果"),
            ("milk", "牛奶"),
            ("green tea", "绿茶"),
            ("snack box", "零食礼盒"),
        ],
    ),
    "sports": (
        "运动",
        35.0,
        [("Decathlon", "迪卡侬"), ("Nike", "耐克"), ("Adidas", "阿迪达斯"), ("Keep", "Keep")],
        [
            ("yoga mat", "瑜伽垫"),
            ("running shoes", "跑鞋"),
            ("dumbbell", "哑铃"),
            ("sports bottle", "运动水壶"),
        ],
    ),
    "books": (
        "图书",
        15.0,
        [
            ("CITIC Press", "中信出版社"),
            ("People's Literature", "人民文学"),
            ("Penguin", "企鹅"),
            ("Oxford", "牛津"),
        ],
        [("novel", "小说"), ("cookbook", "菜谱"), ("notebook", "笔记本"), ("picture book", "绘本")],
    ),
    "toys": (
        "玩具",
        25.0,
        [("LEGO", "乐高"), ("Pop Mart", "泡泡玛特"), ("Bandai", "万代"), ("Hasbro", "孩之宝")],
        [
            ("building set", "积木"),
            ("blind box", "盲盒"),
            ("model kit", "模型"),
            ("board game", "桌游"),
        ],
    ),
    "baby": (
        "母婴",
        40.0,
        [
            ("Pampers", "帮宝适"),
            ("Feihe", "飞鹤"),
            ("Goodbaby", "好孩子"),
            ("Babycare", "Babycare"),
        ],
        [
            ("diapers", "纸尿裤"),
            ("infant formula", "婴儿奶粉"),
            ("stroller", "婴儿车"),
            ("baby wipes", "湿巾"),
        ],
    ),
    "pets": (
        "宠物",
        25.0,
        [("Royal Canin", "皇家"), ("Myfoodie", "麦富迪"), ("Petkit", "小佩"), ("Pidan", "Pidan")],
        [("cat food", "猫粮"), ("dog food", "狗粮"), ("cat litter", "猫砂"), ("pet bed", "宠物窝")],
    ),
}
ADJECTIVES = [
    ("Classic", "经典"),
    ("Premium", "高端"),
    ("Lightweight", "轻便"),
    ("Portable", "便携"),
    ("Deluxe", "豪华"),
    ("Mini", "迷你"),
    ("Pro", "专业版"),
    ("Eco", "环保"),
]


@dataclass(frozen=True)
class Catalogue:
    items: pd.DataFrame  # item_id, title, title_zh, category, brand, price, in_stock
    category_index: np.ndarray  # category number of each item
    popularity: np.ndarray  # sampling weight of each item within its category


def make_catalogue(n_items: int, rng: np.random.Generator) -> Catalogue:
    """``n_items`` items spread over the categories, Zipf-like popularity, lognormal prices."""
    names = list(CATEGORIES)
    category_index = rng.integers(0, len(names), n_items)
    brand_index = rng.integers(0, 4, n_items)
    noun_index = rng.integers(0, 4, n_items)
    adjective_index = rng.integers(0, len(ADJECTIVES), n_items)
    brand_premium = np.array([0.8, 1.0, 1.2, 1.6])[brand_index]
    mean_price = np.array([CATEGORIES[n][1] for n in names])[category_index]
    price = np.round(mean_price * brand_premium * rng.lognormal(0.0, 0.45, n_items), 2) + 0.99
    titles, titles_zh, brands = [], [], []
    for c, b, nn, a in zip(category_index, brand_index, noun_index, adjective_index, strict=True):
        _, _, brand_list, nouns = CATEGORIES[names[c]]
        brand_en, brand_zh = brand_list[b]
        adj_en, adj_zh = ADJECTIVES[a]
        noun_en, noun_zh = nouns[nn]
        titles.append(f"{brand_en} {adj_en} {noun_en}")
        titles_zh.append(f"{brand_zh}{adj_zh}{noun_zh}")
        brands.append(brand_en)
    items = pd.DataFrame(
        {
            "item_id": [f"i{i:06d}" for i in range(n_items)],
            "title": titles,
            "title_zh": titles_zh,
            "category": [names[c] for c in category_index],
            "brand": brands,
            "price": price,
            "in_stock": rng.random(n_items) > 0.05,
        }
    )
    popularity = rng.pareto(1.2, n_items) + 0.05
    return Catalogue(items, category_index, popularity)
