"""The 39 app categories of the 2021 necessary-personal-information rules, as data.

Source: 《常见类型移动互联网应用程序必要个人信息范围规定》 (国信办秘字〔2021〕14号, in force 2021-05-01).
Each category lists the personal information an app of that kind needs for its basic function
(基本功能服务). ``necessary_zh`` paraphrases the rule's list; ``necessary_types`` is the part of it that
maps onto taxonomy ids. Items that are not traffic-observable taxonomy types (order, payment and address
details, résumés, account lists) stay in the text only. Verify against the official text before quoting.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowaudit.core.taxonomy import TYPE_IDS

RULE_NAME_ZH = "常见类型移动互联网应用程序必要个人信息范围规定"
RULE_NAME_EN = "Rules on the Scope of Necessary Personal Information for Common Types of Mobile Apps (2021)"

# Device-information types that are personal information (GB/T 35273 App. A) but identify nobody on
# their own; sending them is not treated as a scope question.
GENERIC_DEVICE_INFO = frozenset({"device_model", "os_version", "carrier", "screen_info"})


@dataclass(frozen=True, slots=True)
class AppCategory:
    number: int                       # position in the rule (1..39)
    id: str
    name_zh: str                      # as written in the rule, without the trailing 类
    name_en: str
    basic_function_zh: str
    necessary_zh: tuple[str, ...]     # () means 无须个人信息即可使用基本功能服务
    necessary_types: frozenset[str]
    aliases: tuple[str, ...] = ()

    @property
    def needs_none(self) -> bool:
        return not self.necessary_zh


PHONE = "注册用户移动电话号码"
PAYMENT = "支付时间、支付金额、支付渠道等支付信息"


def _c(number: int, id_: str, zh: str, en: str, basic: str, necessary: tuple[str, ...], types: set[str],
       aliases: tuple[str, ...] = ()) -> AppCategory:
    return AppCategory(number, id_, zh, en, basic, necessary, frozenset(types), aliases)


CATEGORIES: tuple[AppCategory, ...] = (
    _c(1, "map_navigation", "地图导航", "Maps and navigation", "定位、路线规划、导航",
       ("位置信息", "出发地", "到达地"), {"precise_location", "coarse_location"}, ("地图", "导航")),
    _c(2, "ride_hailing", "网络约车", "Ride hailing", "网络预约出租汽车服务、巡游出租汽车电召服务",
       (PHONE, "乘车人出发地、到达地、位置信息、行踪轨迹", PAYMENT),
       {"phone_number", "precise_location", "coarse_location"}, ("约车", "打车")),
    _c(3, "instant_messaging", "即时通信", "Instant messaging", "文字、图片、语音、视频等网络即时通信服务",
       (PHONE, "账号信息：账号、即时通信联系人账号列表"), {"phone_number"}, ("即时通讯", "社交")),
    _c(4, "online_community", "网络社区", "Online community", "博客、论坛、社区等话题讨论、信息分享和关注互动",
       (PHONE,), {"phone_number"}, ("社区", "论坛")),
    _c(5, "online_payment", "网络支付", "Online payment", "网络支付、提现、转账等功能",
       (PHONE, "注册用户姓名、证件类型和号码、证件有效期限、银行卡号码"),
       {"phone_number", "real_name", "id_card_number", "passport_number", "bank_card_number"}, ("支付",)),
    _c(6, "online_shopping", "网上购物", "Online shopping", "购买商品",
       (PHONE, "收货人姓名（名称）、地址、联系电话", PAYMENT), {"phone_number", "real_name"}, ("购物", "电商")),
    _c(7, "food_delivery", "餐饮外卖", "Food delivery", "餐饮购买及外送",
       (PHONE, "收货人姓名（名称）、地址、联系电话", PAYMENT), {"phone_number", "real_name"}, ("外卖",)),
    _c(8, "courier", "邮件快件寄递", "Postal and courier", "信件、包裹、印刷品等物品寄递服务",
       ("寄件人姓名、证件类型和号码等身份信息", "寄件人地址、联系电话", "收件人姓名（名称）、地址、联系电话",
        "寄递物品的名称、性质、数量"), {"real_name", "id_card_number", "passport_number", "phone_number"},
       ("快递", "寄递")),
    _c(9, "transport_tickets", "交通票务", "Transport tickets", "交通相关的票务服务及行程管理",
       (PHONE, "旅客姓名、证件类型和号码、旅客类型", "旅客出发地、目的地、出发时间、车次/船次/航班号、席别/舱位等级、座位号",
        PAYMENT), {"phone_number", "real_name", "id_card_number", "passport_number"}, ("票务",)),
    _c(10, "dating", "婚恋相亲", "Dating and matchmaking", "婚恋相亲",
       (PHONE, "婚恋相亲人的性别、年龄、婚姻状况"), {"phone_number"}, ("婚恋", "相亲")),
    _c(11, "recruitment", "求职招聘", "Job search and recruitment", "求职者求职、招聘者招聘等",
       ("求职者提供的简历",), {"phone_number", "email", "real_name"}, ("招聘", "求职")),
    _c(12, "online_lending", "网络借贷", "Online lending", "通过互联网平台实现的用于消费、日常生产经营周转等的个人申贷服务",
       (PHONE, "借款人姓名、证件类型和号码、证件有效期限、银行卡号码"),
       {"phone_number", "real_name", "id_card_number", "passport_number", "bank_card_number"}, ("借贷",)),
    _c(13, "real_estate", "房屋租售", "Real estate rental and sales", "个人房源信息发布、房屋出租或买卖",
       (PHONE, "房源基本信息：房屋地址、面积/户型、期待售价或租金"), {"phone_number"}, ("房产", "租房")),
    _c(14, "used_cars", "二手车交易", "Used-car trading", "二手车买卖信息服务",
       (PHONE, "购买方姓名、证件类型和号码", "出售方姓名、证件类型和号码、车辆行驶证号、车辆识别号码"),
       {"phone_number", "real_name", "id_card_number", "passport_number"}, ("二手车",)),
    _c(15, "medical_appointments", "问诊挂号", "Online consultation and appointments", "在线咨询问诊、预约挂号",
       (PHONE, "挂号时：患者姓名、证件类型和号码、预约挂号的医院和科室", "问诊时：病情描述"),
       {"phone_number", "real_name", "id_card_number", "passport_number"}, ("问诊", "挂号", "医疗")),
    _c(16, "travel_services", "旅游服务", "Travel services", "旅游服务产品信息的发布与订购",
       (PHONE, "出行人旅游目的地、旅游时间", "出行人姓名、证件类型和号码、联系方式"),
       {"phone_number", "real_name", "id_card_number", "passport_number"}, ("旅游",)),
    _c(17, "hotels", "酒店服务", "Hotel booking", "酒店预订",
       (PHONE, "住宿人姓名和联系方式、入住和退房时间、入住酒店名称"), {"phone_number", "real_name"}, ("酒店",)),
    _c(18, "online_games", "网络游戏", "Online games", "提供网络游戏产品和服务",
       (PHONE,), {"phone_number"}, ("游戏",)),
    _c(19, "education", "学习教育", "Learning and education", "在线辅导、网络课堂等",
       (PHONE,), {"phone_number"}, ("教育", "学习")),
    _c(20, "local_services", "本地生活", "Local services", "家政维修、家居装修、二手闲置物品交易等日常生活服务",
       (PHONE,), {"phone_number"}, ("生活服务",)),
    _c(21, "womens_health", "女性健康", "Women's health", "女性经期管理、备孕育儿、美容美体等健康管理服务",
       (), set()),
    _c(22, "car_services", "用车服务", "Car services", "共享单车、共享汽车、租赁汽车等服务",
       (PHONE, "用车人姓名、证件类型和号码、驾驶证件信息（共享汽车、租赁汽车服务）", PAYMENT, "位置信息（共享单车、共享汽车）"),
       {"phone_number", "real_name", "id_card_number", "passport_number", "precise_location", "coarse_location"},
       ("共享单车", "租车")),
    _c(23, "investment", "投资理财", "Investment and wealth management", "股票、期货、基金、债券等相关投资理财服务",
       (PHONE, "投资理财用户姓名、证件类型和号码、证件有效期限、证件影印件", "投资理财用户资金账户、银行卡号码或支付账号"),
       {"phone_number", "real_name", "id_card_number", "passport_number", "bank_card_number", "photos"},
       ("理财", "证券")),
    _c(24, "mobile_banking", "手机银行", "Mobile banking", "通过手机等移动智能终端设备进行银行账户管理、信息查询、转账汇款等服务",
       (PHONE, "用户姓名、证件类型和号码、证件有效期限、证件影印件、银行卡号码、银行预留移动电话号码",
        "转账时：收款人姓名、银行卡号码、开户银行信息"),
       {"phone_number", "real_name", "id_card_number", "passport_number", "bank_card_number", "photos"}, ("银行",)),
    _c(25, "email_cloud_storage", "邮箱云盘", "E-mail and cloud storage", "邮箱、云盘等",
       (PHONE, "账号信息：账号、邮箱地址"), {"phone_number", "email"}, ("邮箱", "云盘", "网盘")),
    _c(26, "remote_meetings", "远程会议", "Remote meetings", "通过网络提供音频或视频会议",
       (PHONE,), {"phone_number"}, ("视频会议", "会议")),
    _c(27, "live_streaming", "网络直播", "Live streaming", "向公众持续提供实时视频、音频、图文等形式信息浏览服务",
       (), set(), ("直播",)),
    _c(28, "online_audio_video", "在线影音", "Online audio and video", "影视、评书、有声读物、音乐等音视频播放",
       (), set(), ("影音", "音乐", "视频")),
    _c(29, "short_video", "短视频", "Short video", "不超过一定时长的视频搜索、播放",
       (), set()),
    _c(30, "news", "新闻资讯", "News", "新闻资讯的浏览、搜索",
       (), set(), ("新闻", "资讯")),
    _c(31, "fitness", "运动健身", "Sports and fitness", "运动健身训练",
       (), set(), ("运动", "健身")),
    _c(32, "browser", "浏览器", "Browser", "浏览互联网信息资源",
       (), set()),
    _c(33, "input_method", "输入法", "Input method", "文字、符号等输入",
       (), set()),
    _c(34, "security", "安全管理", "Security management", "查杀病毒、清理恶意插件、修复漏洞等",
       (), set(), ("安全",)),
    _c(35, "ebooks", "电子图书", "E-books", "电子图书搜索、阅读",
       (), set(), ("阅读", "图书")),
    _c(36, "photo_editing", "拍摄美化", "Photography and beautification", "拍摄、美颜、滤镜等",
       (), set(), ("拍摄", "美颜", "相机")),
    _c(37, "app_store", "应用商店", "App store", "搜索、下载或管理第三方应用软件",
       (), set(), ("应用市场",)),
    _c(38, "utility_tools", "实用工具", "Utility tools", "日历、天气、词典翻译、计算器、遥控器、手电筒、指南针、时钟闹钟、文件传输、文件管理、壁纸铃声、截图录屏、录音、文档处理、智能家居助手、星座性格测试等",
       (), set(), ("工具", "天气", "日历", "计算器", "手电筒", "weather")),
    _c(39, "performance_tickets", "演出票务", "Performance tickets", "演出购票",
       (PHONE, "观演人姓名、证件类型和号码、联系方式", PAYMENT),
       {"phone_number", "real_name", "id_card_number", "passport_number"}, ("演出",)),
)

BY_ID: dict[str, AppCategory] = {c.id: c for c in CATEGORIES}


def _key(text: str) -> str:
    return "".join(text.split()).lower().removesuffix("类")


_LOOKUP: dict[str, AppCategory] = {}
for _cat in CATEGORIES:
    for _name in (_cat.id, _cat.name_zh, _cat.name_en, str(_cat.number), *_cat.aliases):
        _LOOKUP.setdefault(_key(_name), _cat)


def find_category(text: str | int | None) -> AppCategory | None:
    """The category named by an id, its Chinese name (with or without 类), its English name, its number
    in the rule, or a listed alias (天气 -> 实用工具)."""
    if text is None:
        return None
    return _LOOKUP.get(_key(str(text)))


def necessary_types(category: str | None) -> frozenset[str] | None:
    """Taxonomy ids necessary for the category's basic function; None when the category is unknown."""
    cat = find_category(category)
    return cat.necessary_types if cat else None


def beyond_scope(category: str | None, types: set[str]) -> list[str]:
    """Observed types outside the category's necessary set, for review (not a verdict)."""
    cat = find_category(category)
    if cat is None:
        return []
    return sorted(t for t in types if t in TYPE_IDS and t not in cat.necessary_types and t not in GENERIC_DEVICE_INFO)

