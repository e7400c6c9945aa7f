"""Synthetic public-consultation threads with known stance labels.

Real consultation threads cannot be shared, so tests, demos and benchmarks use generated
ones instead. Each thread discusses one Singapore policy topic in a mix of English,
Singlish and Chinese. Every (statement, contributor) pair has a known answer to "did this
contributor express the statement anywhere in the conversation?".

Only key messages touch a statement. They are "yes" when they state it (in the statement's
own words, a paraphrase or Chinese) or when they agree with a reply ("+1") to such a message.
They are hard "no" cases when they state the opposite, agree with someone who stated the
opposite, ask about the statement or report someone else's view. Filler messages are built
from sentences that take no side on any statement, so no pair turns "yes" by accident.

Two modes share one conversation builder:
  demo  16 fixed conversations with three annotator labels per pair (data/demo).
  long  150,000-1,000,000-character threads with key messages planted at chosen
        relative positions (start, middle, end) for long-context tests and benchmarks.

    python -m prep.synth demo --out data/demo
    python -m prep.synth long --out DIR --conversations 4 --chars 150000 --authors 40 \
        --seed 1 --positions start,middle,end
"""

import argparse
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from random import Random
from typing import NamedTuple, Sequence

from prep.schema import write_jsonl


class Statement(NamedTuple):
    id: str
    text: str
    paraphrases: tuple[str, ...]  # English/Singlish restatements (used only by "yes" messages)
    opposites: tuple[str, ...]
    zh_yes: tuple[str, ...]  # Chinese restatements, Simplified and Traditional
    zh_no: tuple[str, ...]
    zh_claim: str  # Chinese clause for questions and reported speech


class Topic(NamedTuple):
    key: str
    title: str
    zh_title: str
    neutral: tuple[str, ...]  # on-topic sentences that take no side on any statement
    zh_neutral: tuple[str, ...]
    statements: tuple[Statement, ...]


TOPICS: tuple[Topic, ...] = (
    Topic(
        "cpf",
        "the CPF withdrawal age and retirement savings",
        "公积金提取年龄和退休储蓄",
        (
            "My dad turns 55 next year, so the whole family is reading up on CPF now.",
            "Anyone went to the CPF roadshow at the community club in {place} last weekend?",
            "The CPF app asked me to update my nomination, so I did it just now.",
            "Budget statement is coming soon, let's see what they announce for CPF.",
            "For those asking, the CPF Board website has the latest retirement sum figures.",
            "My aunt went to the CPF service centre and said the staff were very patient.",
            "I only started reading my CPF statement properly after I turned 40.",
        ),
        (
            "我爸明年就55岁了，最近全家都在研究公积金。",
            "有人去过{zh_place}社区中心的公积金讲座吗？",
            "公積金局的網站有最新的退休存款數額。",
        ),
        (
            Statement(
                "cpf-1",
                "Raising the CPF withdrawal age helps ensure retirement adequacy",
                (
                    "If people can only take out their CPF later, they are less likely to run"
                    " out of money in old age.",
                    "Pushing back the payout age means the savings last longer into retirement,"
                    " that's the whole point.",
                ),
                (
                    "Raising the CPF withdrawal age does nothing for retirement adequacy, it"
                    " just locks up people's money longer.",
                    "Shifting the payout age later won't make anyone's retirement more secure,"
                    " only more frustrating.",
                ),
                (
                    "提高公积金提取年龄，其实可以确保退休后的钱够用。",
                    "延後提取公積金的年齡，老了才不會沒錢用。",
                ),
                ("提高提取年龄根本帮不到退休保障，只是把钱锁得更久。",),
                "提高公积金提取年龄可以确保退休金足够",
            ),
            Statement(
                "cpf-2",
                "CPF LIFE payouts are too low to cover basic living expenses",
                (
                    "The monthly amount from CPF LIFE is not enough to pay even for basics like"
                    " food and utilities.",
                    "What CPF LIFE gives every month cannot even cover groceries and"
                    " conservancy charges.",
                ),
                (
                    "CPF LIFE payouts are enough for basic needs if you plan properly.",
                    "The CPF LIFE monthly sum can cover the basics, people just compare with a"
                    " luxury lifestyle.",
                ),
                (
                    "CPF LIFE每个月发的钱太少，连基本生活开销都不够。",
                    "終身入息計劃每月的錢太少了，根本不夠基本開銷。",
                ),
                ("CPF LIFE的钱其实够基本生活，不要夸张。",),
                "CPF LIFE的发放金额太低，不够基本生活",
            ),
            Statement(
                "cpf-3",
                "CPF contribution rates for older workers should be raised faster",
                (
                    "The CPF contributions for workers above 55 should go up more quickly, the"
                    " current pace is too slow.",
                    "They should speed up the increase in CPF rates for senior workers.",
                ),
                (
                    "There is no need to hurry the CPF rate increases for older workers, the"
                    " current schedule is fine.",
                    "Raising CPF rates for senior workers any faster will just make companies"
                    " less keen to hire them.",
                ),
                ("年长员工的公积金缴交率应该更快调高。", "年長員工的公積金繳交率應該加快調高才對。"),
                ("年长员工的公积金缴交率不用急着调高，现在的步伐就可以了。",),
                "年长员工的公积金缴交率应该更快调高",
            ),
            Statement(
                "cpf-4",
                "The CPF system is too complicated for ordinary members to understand",
                (
                    "Ordinary folks cannot make sense of all the CPF accounts, sums and"
                    " schemes, it's way too complex.",
                    "Got OA, SA, MA, RA, then BRS, FRS, ERS... how is a normal person supposed"
                    " to understand all this?",
                ),
                (
                    "CPF is not that hard to understand, the website explains everything quite"
                    " clearly.",
                    "Anyone who spends ten minutes reading can understand CPF, it is not"
                    " complicated at all.",
                ),
                ("公积金制度太复杂了，普通人根本搞不懂。", "公積金的制度太複雜，一般人看不懂。"),
                ("公积金其实不难懂，网站讲得很清楚。",),
                "公积金制度太复杂，普通人看不懂",
            ),
        ),
    ),
    Topic(
        "hdb",
        "HDB resale prices and flat supply",
        "组屋转售价格和供应",
        (
            "We just collected our keys in Tengah last month, still waiting for the contractor.",
            "Anyone know if the HDB branch at {place} opens on Saturday?",
            "The latest sales launch results came out yesterday, check your email.",
            "My cousin is moving from {place} to Punggol to be nearer to his in-laws.",
            "The HDB Resale Portal got updated, the layout looks different now.",
            "Our lift upgrading works finally finished, no more climbing stairs haha.",
            "My parents bought their flat in 1992 and are still living there until now.",
        ),
        (
            "我们上个月刚拿到钥匙，还在等装修师傅。",
            "有人知道{zh_place}的建屋局分行星期六开吗？",
            "我表哥下个月要搬去榜鹅，离岳父母近一点。",
        ),
        (
            Statement(
                "hdb-1",
                "HDB should build more BTO flats to bring resale prices down",
                (
                    "If HDB launches more new flats, fewer people will need to buy resale and"
                    " prices will cool down.",
                    "The way to fix resale prices is simple: increase the supply of BTO flats.",
                ),
                (
                    "Building more BTO flats won't bring resale prices down, resale demand is a"
                    " different market.",
                    "More BTO launches do not cool resale prices at all, the two markets don't"
                    " move together like that.",
                ),
                (
                    "建屋局应该多建预购组屋，这样转售价格才会降下来。",
                    "多推出預購組屋，轉售組屋的價格自然會下降。",
                ),
                ("多建预购组屋也压不下转售价格，两个市场不一样。",),
                "多建预购组屋可以让转售价格下降",
            ),
            Statement(
                "hdb-2",
                "Million-dollar resale flats show that the housing market is overheating",
                (
                    "When HDB flats start selling above a million dollars, it's a clear sign the"
                    " market is too hot.",
                    "So many million-dollar HDB transactions means prices have gone overboard,"
                    " the market is overheated.",
                ),
                (
                    "Million-dollar flats are rare exceptions in prime locations, they don't"
                    " mean the market is overheating.",
                    "A few resale flats crossing a million tells you nothing about the whole"
                    " market overheating.",
                ),
                ("百万元组屋越来越多，说明房地产市场已经过热了。", "一百萬的組屋都出現了，市場明顯過熱。"),
                ("百万组屋只是少数黄金地段的例子，不代表市场过热。",),
                "百万元组屋说明房屋市场过热",
            ),
            Statement(
                "hdb-3",
                "Singles should be allowed to buy new flats before the age of 35",
                (
                    "The age limit of 35 for singles to buy a new flat is too high, it should be"
                    " lowered.",
                    "Young singles should not have to wait until 35 to get their own BTO.",
                ),
                (
                    "Keeping the age limit at 35 for singles is reasonable, families should get"
                    " priority for new flats.",
                    "Singles below 35 don't need to buy new flats, the current rule is fair.",
                ),
                ("单身人士应该在35岁以前就可以买新组屋。", "單身人士不應該等到35歲才能買新組屋。"),
                ("单身人士35岁才能买新组屋很合理，家庭应该优先。",),
                "单身人士应该在35岁前就能买新组屋",
            ),
            Statement(
                "hdb-4",
                "BTO waiting times are too long for young couples",
                (
                    "Young couples have to wait four or five years for their BTO to be ready,"
                    " that's far too long.",
                    "Waiting so many years for a BTO key is unreasonable when couples want to"
                    " start a family now.",
                ),
                (
                    "BTO waiting times are acceptable, couples can plan ahead and apply early.",
                    "Three to four years for a BTO is fair, building a flat takes time and"
                    " everyone knows that.",
                ),
                ("年轻夫妇等预购组屋的时间实在太长了。", "年輕夫婦等組屋等太久了，真的不合理。"),
                ("等预购组屋的时间其实还可以接受，早点申请就好。",),
                "年轻夫妇等预购组屋的时间太长",
            ),
        ),
    ),
    Topic(
        "transport",
        "public transport fares and services",
        "公共交通车资和服务",
        (
            "Took the Thomson-East Coast Line for the first time today, the stations are quite"
            " nice.",
            "Anyone know which bus goes from {place} interchange to the airport?",
            "The fare review committee will publish its decision later this year.",
            "I switched to using my bank card for SimplyGo, works fine so far.",
            "The new buses got USB charging ports, quite useful.",
            "My son takes the MRT to school every day, about forty minutes.",
        ),
        (
            "今天第一次坐汤申－东海岸线，车站还蛮漂亮的。",
            "有人知道从{zh_place}转换站到机场要坐哪一路巴士吗？",
            "我現在用銀行卡搭地鐵，蠻方便的。",
        ),
        (
            Statement(
                "transport-1",
                "Public transport fare increases are justified by rising operating costs",
                (
                    "Energy and manpower costs keep going up, so it is fair that bus and MRT"
                    " fares go up too.",
                    "Operators are paying more for everything, fares have to rise to keep the"
                    " system running.",
                ),
                (
                    "Rising costs are no excuse for fare hikes, the operators and government"
                    " should absorb more of it.",
                    "Fare increases are not justified at all, commuters are already paying"
                    " enough.",
                ),
                ("营运成本一直上涨，公共交通车资调高是合理的。", "成本上升，巴士和地鐵車資調高也是應該的。"),
                ("成本上涨不是调高车资的理由，不应该让乘客承担。",),
                "营运成本上涨所以车资调高是合理的",
            ),
            Statement(
                "transport-2",
                "Fare concessions should be extended to all lower-income workers",
                (
                    "All low-wage workers should get concession fares, not only those on"
                    " certain schemes.",
                    "Anyone earning a low income should be able to pay cheaper concession fares"
                    " for bus and MRT.",
                ),
                (
                    "Extending concession fares to more workers is unnecessary, the existing"
                    " schemes are enough.",
                    "There's no need to give every low-income worker a concession, targeted"
                    " help works better.",
                ),
                ("所有低收入员工都应该享有车资优惠。", "低收入的工人都應該可以用優惠車資。"),
                ("车资优惠不需要扩大到所有低收入员工，现有的计划已经够了。",),
                "所有低收入员工都应该享有车资优惠",
            ),
            Statement(
                "transport-3",
                "MRT breakdowns have become much less frequent in recent years",
                (
                    "The trains break down a lot less now compared to the bad old days around"
                    " 2011.",
                    "MRT reliability has improved a lot, I hardly experience breakdowns"
                    " anymore.",
                ),
                (
                    "MRT breakdowns are still happening just as often as before, nothing has"
                    " really improved.",
                    "Don't believe the reliability numbers, the trains still break down all the"
                    " time.",
                ),
                ("这几年地铁故障已经少很多了。", "最近幾年地鐵故障真的少了很多。"),
                ("地铁还是常常故障，根本没有改善。",),
                "这几年地铁故障少了很多",
            ),
            Statement(
                "transport-4",
                "Bus services in the heartlands should run more frequently at night",
                (
                    "After 10pm the buses in the estates come so rarely, they should increase"
                    " the night frequency.",
                    "Heartland bus routes need more trips late at night for shift workers going"
                    " home.",
                ),
                (
                    "Night buses in the heartlands are frequent enough, more trips would just"
                    " run empty.",
                    "There's no need for more late-night buses in the estates, ridership is too"
                    " low.",
                ),
                ("组屋区的巴士晚上应该加密班次。", "晚上鄰里的巴士班次應該多一點。"),
                ("晚上组屋区的巴士班次已经够了，加了也是空车。",),
                "组屋区的巴士晚上应该加密班次",
            ),
        ),
    ),
    Topic(
        "manpower",
        "foreign workers and employment passes",
        "外籍员工和就业准证",
        (
            "MOM updated the Employment Pass page again, got a new FAQ section.",
            "My company's HR is busy renewing work permits this month.",
            "The dormitory near my place held a cricket match last weekend, quite fun to watch.",
            "Anyone attending the career fair at {place} this Saturday?",
            "My colleague from Chennai just got his PR approved, we went for prata to celebrate.",
            "The job portal keeps sending me irrelevant postings, so annoying.",
        ),
        (
            "人力部的网站又更新了，多了新的常见问题。",
            "我公司的人事部这个月忙着更新工作准证。",
            "有人這個星期六去{zh_place}的招聘會嗎？",
        ),
        (
            Statement(
                "manpower-1",
                "The COMPASS framework makes Employment Pass approvals fairer for local workers",
                (
                    "With the COMPASS points system, companies can't just hire foreigners"
                    " easily, so it's fairer for Singaporeans.",
                    "COMPASS forces employers to justify EP hires properly, that levels the"
                    " playing field for locals.",
                ),
                (
                    "COMPASS doesn't make anything fairer for locals, companies just game the"
                    " points.",
                    "The COMPASS scoring is a paper exercise, locals are no better off than"
                    " before.",
                ),
                ("COMPASS积分框架让就业准证的审批对本地员工更公平。", "有了COMPASS計分制，對本地人比較公平。"),
                ("COMPASS框架对本地员工根本没有更公平，公司只会钻空子。",),
                "COMPASS框架让就业准证审批对本地员工更公平",
            ),
            Statement(
                "manpower-2",
                "Conditions in foreign worker dormitories still need major improvement",
                (
                    "The dorms are still overcrowded and the facilities are poor, a lot more"
                    " needs to be done.",
                    "Migrant workers are still living in cramped dorms, the improvements so far"
                    " are not enough.",
                ),
                (
                    "Dormitory conditions have improved a lot since 2020, they are decent now.",
                    "The new dorms are quite good already, no need for major changes.",
                ),
                ("客工宿舍的条件还需要大幅改善。", "外勞宿舍的環境還是很差，需要大改善。"),
                ("客工宿舍的条件这几年已经改善很多了，不需要大改。",),
                "客工宿舍的条件还需要大幅改善",
            ),
            Statement(
                "manpower-3",
                "The minimum qualifying salary for Employment Pass holders should be raised"
                " further",
                (
                    "The EP salary threshold is still too low, it should go up more so companies"
                    " hire locals first.",
                    "They should keep increasing the minimum pay for EP holders, the current"
                    " level is too easy to meet.",
                ),
                (
                    "The EP qualifying salary is already high enough, raising it more will hurt"
                    " small businesses.",
                    "No need to raise the EP salary threshold again, it's already one of the"
                    " highest in the region.",
                ),
                ("就业准证的最低薪金门槛应该再提高。", "就業准證的最低薪金應該再調高。"),
                ("就业准证的薪金门槛已经够高了，再提高会伤害小企业。",),
                "就业准证的最低薪金门槛应该再提高",
            ),
            Statement(
                "manpower-4",
                "Companies hire foreign talent because there are not enough locals with the"
                " right skills",
                (
                    "Many firms simply can't find Singaporeans with the tech skills they need,"
                    " that's why they hire from overseas.",
                    "The local talent pool is too small for some jobs, so foreign hires fill the"
                    " gap.",
                ),
                (
                    "There are plenty of skilled locals, companies hire foreigners because they"
                    " are cheaper.",
                    "The skills shortage is an excuse, firms just prefer foreign hires for other"
                    " reasons.",
                ),
                (
                    "公司聘请外国人才，是因为本地具备合适技能的人不够。",
                    "本地有相關技能的人太少，公司才會請外國人。",
                ),
                ("本地有技能的人很多，公司请外国人只是因为比较便宜。",),
                "公司聘请外国人才是因为本地技能人才不够",
            ),
        ),
    ),
    Topic(
        "hawker",
        "the future of hawker centres",
        "小贩中心的未来",
        (
            "The hawker centre at {place} reopened after renovation, got new fans now.",
            "Went to the Old Airport Road food centre last night, parking was full as usual.",
            "Does anyone know if the chicken rice uncle at {place} still opens on Mondays?",
            "My favourite char kway teow stall is closing for two weeks for the uncle's holiday.",
            "The NEA officers were doing a survey at the food centre this morning.",
            "Hawker culture got its UNESCO listing a few years back, I still remember the news.",
        ),
        (
            "{zh_place}的小贩中心装修好了，重新开张。",
            "昨晚去旧机场路熟食中心，停车场还是满的。",
            "我最喜歡的炒粿條檔口要休息兩個星期。",
        ),
        (
            Statement(
                "hawker-1",
                "Hawker food prices must go up for hawkers to earn a decent living",
                (
                    "If a plate of chicken rice stays at three dollars, the hawkers can't"
                    " survive, prices have to increase.",
                    "We cannot expect hawkers to keep prices so low forever, they need to charge"
                    " more to make a proper living.",
                ),
                (
                    "Hawker prices don't need to rise, hawkers can earn a decent living with"
                    " better efficiency.",
                    "Raising hawker food prices is not the answer, it just hurts the people who"
                    " depend on cheap food.",
                ),
                ("小贩食物的价格一定要涨，小贩才能赚到像样的收入。", "熟食價格要漲，小販才能養活自己。"),
                ("小贩食物不需要涨价，小贩还是可以过得去。",),
                "小贩食物价格必须上涨，小贩才能维持生计",
            ),
            Statement(
                "hawker-2",
                "Young Singaporeans are not interested in becoming hawkers",
                (
                    "Hardly any young people want to take over hawker stalls, the hours are too"
                    " long and the work too tiring.",
                    "The younger generation would rather work in an office than stand at a hot"
                    " stove all day.",
                ),
                (
                    "Plenty of young Singaporeans are starting hawker stalls now, the interest"
                    " is there.",
                    "It's a myth that young people don't want to be hawkers, look at all the"
                    " young hawkers selling pasta and rice bowls.",
                ),
                ("新加坡年轻人对当小贩根本没兴趣。", "現在的年輕人都不想當小販了。"),
                ("其实很多年轻人都开始当小贩了，兴趣是有的。",),
                "新加坡年轻人对当小贩没兴趣",
            ),
            Statement(
                "hawker-3",
                "Tray return rules at hawker centres should be strictly enforced",
                (
                    "People who don't return their trays should be fined every time, no more"
                    " warnings.",
                    "NEA must enforce the tray return rule strictly, otherwise nobody bothers.",
                ),
                (
                    "Strict enforcement of tray return is overkill, education is enough.",
                    "Fining people for not returning trays is too harsh, there's no need to be"
                    " so strict.",
                ),
                ("小贩中心的归还餐具条例应该严格执行。", "不還托盤的人應該要罰款，嚴格執行。"),
                ("归还餐具不需要严格执法，教育就够了。",),
                "小贩中心的归还餐具条例应该严格执行",
            ),
            Statement(
                "hawker-4",
                "Social enterprise hawker centres charge stallholders too much in fees",
                (
                    "The operators of these social enterprise centres take too big a cut from"
                    " the hawkers.",
                    "Hawkers in the SEHC model are paying way too many fees and charges to the"
                    " operators.",
                ),
                (
                    "The fees at social enterprise hawker centres are reasonable for the"
                    " services provided.",
                    "Social enterprise operators do not overcharge, the fees cover cleaning and"
                    " promotions.",
                ),
                ("社会企业小贩中心向摊主收的费用太高了。", "社企小販中心收攤主的費用太多了。"),
                ("社会企业小贩中心的收费其实合理。",),
                "社会企业小贩中心向摊主收费太高",
            ),
        ),
    ),
    Topic(
        "ns",
        "national service",
        "国民服役",
        (
            "My son just enlisted at BMTC last week, the whole family went to send him off.",
            "Reservist again next month, need to apply leave from work.",
            "Anyone know if the IPPT booking system is down? Cannot log in.",
            "Passed by Pulau Tekong on the ferry, brings back memories.",
            "My brother is doing his NS in the Police, he says the shifts are long.",
            "The NS55 vouchers came and went so fast, I already forgot what I used them for.",
        ),
        (
            "我儿子上星期刚入伍，全家都去送他。",
            "下个月又要回营了，要跟公司请假。",
            "有人知道IPPT的預約系統是不是壞了？",
        ),
        (
            Statement(
                "ns-1",
                "National service should be shortened from two years",
                (
                    "Two years is too long for NS, they should cut it down.",
                    "NS could easily be shortened, a lot of the time is spent waiting around"
                    " anyway.",
                ),
                (
                    "Two years of NS is necessary, shortening it would weaken our defence.",
                    "NS should not be shortened, the training needs the full two years.",
                ),
                ("国民服役应该缩短，不需要两年。", "國民服役兩年太長，應該縮短。"),
                ("国民服役两年是必要的，不应该缩短。",),
                "国民服役应该从两年缩短",
            ),
            Statement(
                "ns-2",
                "NS allowances are too low for the sacrifice national servicemen make",
                (
                    "The monthly NS allowance is peanuts compared to what the boys give up.",
                    "Full-time NSmen are paid far too little for two years of their lives.",
                ),
                (
                    "NS allowances are fair, NS is a duty and not a job.",
                    "The allowance has been raised many times, it's already reasonable for"
                    " NSFs.",
                ),
                ("国民服役的津贴太低，跟他们的付出不成正比。", "國民服役的津貼太少了，對不起他們的犧牲。"),
                ("国民服役津贴已经合理了，当兵是义务不是工作。",),
                "国民服役的津贴太低",
            ),
            Statement(
                "ns-3",
                "Women should also be required to do some form of national service",
                (
                    "Girls should also serve, maybe not combat roles but healthcare or civil"
                    " defence.",
                    "It's only fair that women do some kind of national service too.",
                ),
                (
                    "Women should not be made to do national service, it's not necessary.",
                    "Conscripting women makes no sense for our needs, leave NS as it is.",
                ),
                ("女性也应该服某种形式的国民服役。", "女生也應該要服國民服役，不一定是當兵。"),
                ("女性不需要服国民服役，没有必要。",),
                "女性也应该服国民服役",
            ),
            Statement(
                "ns-4",
                "NS builds discipline and lifelong friendships for young men",
                (
                    "My NS buddies are still my closest friends, and the army taught me"
                    " discipline.",
                    "National service turns boys into disciplined men and gives them friends for"
                    " life.",
                ),
                (
                    "NS doesn't really build discipline, most guys just learn how to skive.",
                    "The friendships and discipline from NS are overrated, most people lose"
                    " touch after ORD.",
                ),
                (
                    "国民服役让年轻人学会纪律，也交到一辈子的朋友。",
                    "當兵讓我學會紀律，也認識了一輩子的好朋友。",
                ),
                ("当兵其实学不到什么纪律，大家只学会偷懒。",),
                "国民服役可以培养纪律和终身友谊",
            ),
        ),
    ),
    Topic(
        "carbon",
        "the carbon tax",
        "碳税",
        (
            "The carbon tax schedule was announced in the Budget a while ago.",
            "Anyone went to the climate exhibition at {place} library?",
            "Read an article about solar panels on HDB rooftops, interesting stuff.",
            "SP Group sent my new bill, I'll check it later.",
            "The government published the long-term emissions strategy online.",
            "My office is running a recycling drive this month.",
        ),
        (
            "碳税的税率在财政预算案里已经公布了。",
            "有人去{zh_place}图书馆的气候展览吗？",
            "我看到一篇關於組屋屋頂太陽能板的文章。",
        ),
        (
            Statement(
                "carbon-1",
                "The carbon tax should be raised faster to meet climate targets",
                (
                    "If we want to hit our emissions goals, the carbon tax needs to increase"
                    " much more quickly.",
                    "The current carbon tax schedule is too slow, they should hike it sooner.",
                ),
                (
                    "There's no need to speed up the carbon tax, the current schedule is fine.",
                    "Raising the carbon tax faster would just hurt businesses without helping"
                    " the climate much.",
                ),
                ("碳税应该更快调高，才能达到气候目标。", "碳稅要加快調高，不然達不到減排目標。"),
                ("碳税不需要加快调高，现在的步伐就可以了。",),
                "碳税应该更快调高以达到气候目标",
            ),
            Statement(
                "carbon-2",
                "The carbon tax will push big companies to cut their emissions",
                (
                    "Once emitting carbon costs real money, the big polluters will find ways to"
                    " emit less.",
                    "A carbon price gives companies a strong reason to clean up their"
                    " operations.",
                ),
                (
                    "The carbon tax won't make companies cut emissions, they'll just pay it and"
                    " carry on.",
                    "Big emitters treat the carbon tax as a cost of doing business, their"
                    " emissions won't drop.",
                ),
                ("碳税会迫使大公司减少排放。", "有了碳稅，大公司就會想辦法減少排放。"),
                ("碳税不会让公司减排，他们只会照付然后继续排放。",),
                "碳税会迫使大公司减少排放",
            ),
            Statement(
                "carbon-3",
                "Households need more rebates to cope with the carbon tax",
                (
                    "The U-Save rebates are not enough, families need more help because of the"
                    " carbon tax.",
                    "Ordinary families should get bigger rebates to help with the carbon tax.",
                ),
                (
                    "Households don't need extra rebates, the existing support is enough to"
                    " offset the carbon tax.",
                    "More rebates are unnecessary, they'd only weaken the incentive to save"
                    " energy.",
                ),
                ("家庭需要更多回扣来应付碳税。", "碳稅來了，家庭需要更多回扣才行。"),
                ("家庭不需要更多回扣，现有的补贴已经够了。",),
                "家庭需要更多回扣来应付碳税",
            ),
            Statement(
                "carbon-4",
                "Singapore is too small for its emissions cuts to make a difference",
                (
                    "We produce a tiny share of global emissions, whatever we cut won't change"
                    " anything.",
                    "Even if Singapore went to zero emissions, the world wouldn't notice.",
                ),
                (
                    "Small countries' emissions cuts do matter, every country has to do its"
                    " part.",
                    "Being small is no excuse, Singapore's cuts make a real difference as an"
                    " example to others.",
                ),
                ("新加坡太小了，减排也改变不了什么。", "新加坡那麼小，減不減排都沒差。"),
                ("小国减排也很重要，每个国家都要尽责。",),
                "新加坡太小，减排没有作用",
            ),
        ),
    ),
    Topic(
        "coe",
        "COE prices and car ownership",
        "拥车证价格和拥车",
        (
            "COE bidding results came out this afternoon, check the LTA website.",
            "My neighbour just sold his car and is now cycling to work.",
            "Anyone know a good workshop in {place} for servicing?",
            "Saw a Ferrari at the Orchard Road traffic light just now, so loud.",
            "My dad's car is fourteen years old already, still running fine.",
            "The ERP gantries along the CTE were switched on again this week.",
        ),
        (
            "拥车证的投标结果今天下午出来了。",
            "我邻居刚把车卖了，现在骑脚车上班。",
            "有人知道{zh_place}有哪間修車廠比較好嗎？",
        ),
        (
            Statement(
                "coe-1",
                "COE prices are too high for middle-income families to own a car",
                (
                    "With COE over a hundred thousand, normal families cannot afford a car"
                    " anymore.",
                    "Owning a car is now only for the rich, the COE is way beyond what"
                    " middle-income households can pay.",
                ),
                (
                    "Middle-income families can still afford a car if they choose a cheaper"
                    " model.",
                    "COE prices are high but not out of reach for the middle class, plenty of"
                    " them still buy cars.",
                ),
                ("拥车证太贵了，中等收入家庭根本买不起车。", "擁車證價格太高，中產家庭都買不起車了。"),
                ("中等收入家庭还是买得起车，选便宜一点的车就好。",),
                "拥车证太贵，中等收入家庭买不起车",
            ),
            Statement(
                "coe-2",
                "The COE quota should be cut further to control road congestion",
                (
                    "They should issue even fewer COEs, the roads are jam-packed already.",
                    "Reduce the number of COEs more, that's the only way to keep traffic"
                    " moving.",
                ),
                (
                    "Cutting the COE quota further won't fix congestion, it will just push"
                    " prices higher.",
                    "The COE quota is already tight enough, reducing it more is not needed.",
                ),
                ("拥车证的配额应该再减少，才能控制交通拥堵。", "應該再減少擁車證配額，路上的車太多了。"),
                ("再减少拥车证配额也解决不了塞车，只会让价格更高。",),
                "应该再减少拥车证配额来控制塞车",
            ),
            Statement(
                "coe-3",
                "Private-hire car companies are pushing up COE prices",
                (
                    "The ride-hailing fleets bid for so many COEs that they drive up the"
                    " premiums for everyone.",
                    "Ride-hailing operators are a big reason the COE keeps going up.",
                ),
                (
                    "Private-hire companies are not the reason COE prices are high, their share"
                    " of bids is small.",
                    "Blaming ride-hailing firms for COE prices is wrong, the demand comes from"
                    " private buyers.",
                ),
                ("私召车公司把拥车证的价格推高了。", "私召車公司搶太多擁車證，價格才會那麼高。"),
                ("私召车公司不是拥车证价格高的原因。",),
                "私召车公司推高了拥车证价格",
            ),
            Statement(
                "coe-4",
                "Car-sharing services make owning a car unnecessary in Singapore",
                (
                    "With car-sharing apps everywhere, there's really no need to buy your own"
                    " car.",
                    "I just book a shared car when I need one, owning a car here is pointless.",
                ),
                (
                    "Car-sharing can't replace owning a car, especially for families with young"
                    " kids.",
                    "Car-sharing services are too unreliable to make car ownership unnecessary.",
                ),
                ("有了共享汽车，在新加坡根本不需要买车。", "有共享汽車就夠了，在新加坡沒必要自己買車。"),
                ("共享汽车取代不了自己的车，尤其是有小孩的家庭。",),
                "有了共享汽车就不需要买车",
            ),
        ),
    ),
    Topic(
        "health",
        "healthcare costs and eldercare",
        "医疗费用和乐龄护理",
        (
            "Brought my mother for her check-up at the polyclinic, the new building is very"
            " clean.",
            "Anyone know if the CHAS card needs to be renewed online?",
            "My grandfather goes to the senior activity centre at {place} every morning for"
            " exercise.",
            "The flu vaccination drive is happening at the community club this weekend.",
            "Healthier SG sent me an SMS to enrol, I haven't done it yet.",
            "My aunt is a nurse at TTSH, she says this month is very busy.",
        ),
        (
            "带我妈妈去综合诊疗所体检，新大楼很干净。",
            "我爷爷每天早上都去{zh_place}的乐龄活动中心做运动。",
            "這個週末社區中心有流感疫苗接種活動。",
        ),
        (
            Statement(
                "health-1",
                "MediShield Life premiums have become too expensive for retirees",
                (
                    "Retirees without income are struggling to pay the MediShield Life"
                    " premiums every year.",
                    "The premiums for MediShield Life keep going up, old folks can't afford it"
                    " anymore.",
                ),
                (
                    "MediShield Life premiums are affordable for retirees, especially with the"
                    " subsidies.",
                    "Retirees are not overpaying for MediShield Life, the premiums are"
                    " reasonable for the coverage.",
                ),
                ("终身健保的保费对退休人士来说太贵了。", "終身健保的保費越來越貴，退休的人負擔不起。"),
                ("终身健保的保费有津贴，对退休人士来说还负担得起。",),
                "终身健保的保费对退休人士太贵",
            ),
            Statement(
                "health-2",
                "Waiting times at polyclinics are too long",
                (
                    "Every time I go to the polyclinic I wait two to three hours just to see"
                    " the doctor.",
                    "You spend half a day in the polyclinic queue, the wait is ridiculous.",
                ),
                (
                    "Polyclinic waits are fine nowadays, the appointment system works well.",
                    "I never wait long at the polyclinic, the waiting time is reasonable.",
                ),
                ("综合诊疗所的等候时间太长了。", "去綜合診療所每次都要等好幾個小時。"),
                ("现在综合诊疗所有预约系统，等候时间还可以。",),
                "综合诊疗所的等候时间太长",
            ),
            Statement(
                "health-3",
                "Every HDB estate should have more eldercare centres",
                (
                    "We need eldercare centres in every neighbourhood, our seniors shouldn't"
                    " have to travel far.",
                    "Build more eldercare facilities in each estate, the population is ageing"
                    " fast.",
                ),
                (
                    "There are already enough eldercare centres in the estates, the problem is"
                    " staffing.",
                    "More eldercare centres are not needed in every estate, the existing ones"
                    " are underused.",
                ),
                ("每个组屋区都应该建更多的乐龄护理中心。", "每個組屋區都需要更多樂齡護理中心。"),
                ("组屋区的乐龄护理中心已经够多了。",),
                "每个组屋区都应该有更多乐龄护理中心",
            ),
            Statement(
                "health-4",
                "Healthier SG will get people to see their family doctor regularly",
                (
                    "Once everyone is enrolled with one GP under Healthier SG, people will go"
                    " for regular check-ups.",
                    "The Healthier SG scheme is a good push for people to have a regular family"
                    " doctor.",
                ),
                (
                    "Healthier SG won't change habits, people will still only see a doctor when"
                    " they're sick.",
                    "Enrolling in Healthier SG doesn't mean people will visit their GP"
                    " regularly.",
                ),
                ("健康SG会让大家定期看家庭医生。", "有了健康SG，大家會比較常去看家庭醫生。"),
                ("健康SG改变不了习惯，大家还是生病才去看医生。",),
                "健康SG会让大家定期看家庭医生",
            ),
        ),
    ),
    Topic(
        "education",
        "PSLE, tuition and school admissions",
        "小六会考、补习和入学",
        (
            "PSLE results are out next week, my niece is very nervous.",
            "Anyone know the registration dates for Primary 1 this year?",
            "My daughter's school is having its sports day at {place} stadium.",
            "The MOE website has the subject banding info for secondary schools.",
            "Took my son to the library to borrow assessment books, so many choices.",
            "Parent-teacher meeting tomorrow, need to take half-day leave.",
        ),
        (
            "下个星期小六会考放榜，我侄女很紧张。",
            "有人知道今年小一报名的日期吗？",
            "我女兒的學校在{zh_place}體育場辦運動會。",
        ),
        (
            Statement(
                "education-1",
                "The new PSLE scoring system has reduced stress for students",
                (
                    "Since they switched to Achievement Levels, kids are less stressed about"
                    " chasing every single mark.",
                    "The AL grading has made PSLE less stressful than the old T-score days.",
                ),
                (
                    "The new PSLE scoring hasn't reduced stress at all, kids still chase every"
                    " point.",
                    "Changing to AL scores did nothing for stress, parents are just as kiasu.",
                ),
                ("新的小六会考计分制度减轻了学生的压力。", "改用AL計分以後，孩子的壓力小了很多。"),
                ("新的计分制度根本没有减轻压力，孩子还是一样拼分数。",),
                "新的小六会考计分制度减轻了学生压力",
            ),
            Statement(
                "education-2",
                "Tuition has become a necessity for most families",
                (
                    "Almost every child goes for tuition now, you fall behind if you don't.",
                    "Tuition is no longer optional, parents feel they have no choice.",
                ),
                (
                    "Tuition is not a necessity, many kids do fine without it.",
                    "Most families don't actually need tuition, the school syllabus is enough.",
                ),
                ("补习已经成为大多数家庭的必需品。", "現在補習已經是必須的，不補就跟不上。"),
                ("补习不是必需的，很多孩子不补也读得很好。",),
                "补习已经成为大多数家庭的必需品",
            ),
            Statement(
                "education-3",
                "Full subject-based banding gives secondary students more flexibility",
                (
                    "With full SBB, students can take subjects at different levels based on"
                    " their strengths, that's more flexible.",
                    "Scrapping the streams lets kids do a subject at a higher level if they're"
                    " good at it, very flexible.",
                ),
                (
                    "Full subject-based banding doesn't give real flexibility, the schools"
                    " still limit choices.",
                    "The new banding is the old streaming in disguise, there's no extra"
                    " flexibility.",
                ),
                ("全面科目编班让中学生有更多弹性。", "全科目編班讓學生可以按強項選科，更有彈性。"),
                ("全面科目编班其实没有更多弹性，学校还是限制选择。",),
                "全面科目编班让中学生有更多弹性",
            ),
            Statement(
                "education-4",
                "Parent volunteer schemes give an unfair advantage in Primary 1 registration",
                (
                    "Parents who can take time off to volunteer get priority for popular"
                    " schools, that's not fair to working parents.",
                    "The parent volunteer route favours families who have the time, it's unfair"
                    " to everyone else.",
                ),
                (
                    "The parent volunteer scheme is fair, any parent can choose to volunteer.",
                    "Volunteering for P1 priority is not an unfair advantage, it's just giving"
                    " back to the school.",
                ),
                (
                    "家长义工计划让一些人在小一报名时占了不公平的优势。",
                    "家長義工計劃對小一報名不公平，有時間的家長才有優勢。",
                ),
                ("家长义工计划很公平，每个家长都可以选择做义工。",),
                "家长义工计划让小一报名不公平",
            ),
        ),
    ),
)

# Slot values for sentence templates: a few dozen templates then give thousands of texts.
SLOTS: dict[str, tuple[str, ...]] = {
    "place": (
        "Tampines", "Jurong West", "Ang Mo Kio", "Bedok", "Toa Payoh", "Punggol", "Sengkang",
        "Woodlands", "Yishun", "Clementi", "Bukit Batok", "Pasir Ris", "Queenstown",
        "Serangoon", "Hougang", "Bishan", "Choa Chu Kang", "Geylang", "Katong", "Marine Parade",
    ),
    "zh_place": (
        "淡滨尼", "裕廊西", "宏茂桥", "勿洛", "大巴窑", "榜鹅", "盛港", "兀兰", "义顺", "金文泰",
        "武吉巴督", "巴西立", "女皇镇", "实龙岗", "后港", "碧山",
    ),
    "food": (
        "chicken rice", "laksa", "char kway teow", "bak kut teh", "nasi lemak", "satay",
        "Hokkien mee", "kaya toast", "fishball noodles", "wanton mee", "roti prata",
        "mee rebus", "chilli crab", "carrot cake", "mee siam", "nasi padang",
        "thunder tea rice", "duck rice",
    ),
    "zh_food": (
        "鸡饭", "叻沙", "炒粿条", "肉骨茶", "椰浆饭", "沙爹", "福建面", "咖椰吐司", "鱼圆面",
        "云吞面",
    ),
    "drink": (
        "kopi-o kosong", "teh tarik", "Milo dinosaur", "bandung", "sugarcane juice",
        "teh peng", "kopi siew dai", "barley",
    ),
    "relative": (
        "my mum", "my dad", "my ah ma", "my neighbour", "my colleague", "my wife",
        "my husband", "my kaki", "my boss", "my sister",
    ),
    "thing": (
        "bicycle", "rice cooker", "aircon", "phone case", "stroller", "standing fan",
        "mahjong table", "air fryer",
    ),
    "team": ("Liverpool", "Arsenal", "Man United", "the Lions", "Chelsea"),
    "when": ("this weekend", "later", "tonight", "tomorrow morning", "after work"),
}

# Off-topic chatter. Nothing here may take a side on any statement.
CHATTER = (
    "Anyone tried the {food} at {place}? Shiok sia.",
    "Wah lau, today so hot, I sweat until my shirt wet.",
    "Bo jio! You all went for {food} without me.",
    "Paiseh, late reply, was busy with work the whole day.",
    "Going to {place} for {food} {when}, anyone want to join?",
    "The {food} at my kopitiam damn nice, must try.",
    "This thread very long already, can someone summarise?",
    "Who is watching the football tonight? {team} sure win one.",
    "Just saw an otter family near {place}, so cute.",
    "Raining cats and dogs in {place} now, bring umbrella ah.",
    "Eh, anyone know a good {thing} shop around {place}?",
    "Mods, can pin the official consultation link or not?",
    "Alamak, I forgot my umbrella again.",
    "Just had {food} for lunch, now very sleepy.",
    "Haha I read this thread during lunch and almost choked on my {food}.",
    "Got durian party at {place} {when}, anyone interested?",
    "Okay I'm going to sleep, see you all tomorrow.",
    "{drink} is the best drink, don't fight me on this.",
    "Who else is waiting for the 11.11 sales?",
    "My cat just knocked over my {drink}, sian.",
    "Steady lah, everyone here quite civil today.",
    "Lol this forum got so many experts sia.",
    "Weekend plans: {food} at {place}, then sleep.",
    "Anyone here from {place}? Wave hello.",
    "Can someone recommend a good {thing}? Mine just spoil.",
    "Just finished my run at East Coast Park, legs dead.",
    "The queue for {food} at {place} was damn long today.",
    "Kiasu mode activated: I already booked my reunion dinner for next year.",
    "Paiseh, wrong thread, please ignore.",
    "Anyone selling a second-hand {thing}? PM me.",
    "Jialat, my phone battery die again.",
    "Happy Friday everyone! Finally can rest.",
    "Reading all the comments here while waiting for my {food}.",
    "Wah, this discussion very heated sia, everybody relax and have some {drink}.",
    "The new bubble tea shop at {place} got one-for-one promo this week.",
    "Okay back to work, boss is watching.",
    "Learnt a lot from this thread, thanks everyone.",
    "Why every time I open this thread got fifty new replies one?",
    "Going to buy {drink} now, anyone want? Just kidding haha.",
    "Not related, but {relative} just learnt how to use emojis and now spams me daily.",
)

ZH_CHATTER = (
    "今天天气好热啊，出门一下就流汗了。",
    "有人吃过{zh_place}那家{zh_food}吗？听说很好吃。",
    "哈哈哈，笑死我了。",
    "週末有人要去{zh_place}喝咖啡嗎？",
    "这个帖子好长，谁能帮忙总结一下？",
    "楼主辛苦了。",
    "昨天晚上的球赛太精彩了！",
    "我家楼下的咖啡店换老板了，{zh_food}还是一样好吃。",
    "下雨了，大家出门记得带伞。",
    "謝謝分享，學到很多。",
    "刚下班，累死了。",
    "{zh_place}的巴刹早上人好多。",
    "我妈妈今天煮了{zh_food}，好开心。",
    "大家早安！",
    "這裡的討論好熱烈啊。",
    "请问有人知道{zh_place}附近哪里可以停车吗？",
    "哇，这么晚了还有人在线。",
    "周末带孩子去{zh_place}的公园玩。",
)

OPENERS = (
    "Hi all, the public consultation on {title} is open until the end of the month. Share"
    " your views here, but please keep it civil.",
    "Starting a thread to collect feedback on {title} before the dialogue session next week."
    " All views welcome.",
    "Mods here. This thread is for discussing {title}. Stay on topic and no personal attacks"
    " please.",
)
ZH_OPENERS = ("各位好，关于{zh_title}的公众咨询已经开始了，欢迎大家发表意见。",)

QUIPS = (
    "LOL", "Haha", "Walao", "Steady", "Shiok!", "Sian...", "Hmm", "Wah", "Aiyo", "Jialat",
    "Eh really?", "Bo jio", "Hahahaha", ":)", "Swee!", "Nice one", "Okay lah", "K.",
)
INTERJECTIONS = (
    "Wah lau.", "Aiyo.", "Eh bro.", "Haha.", "Hmm.", "Alamak.", "Walao eh.", "Okay lah.",
    "Eh, paiseh ah.", "Sian.",
)
CLOSERS = (
    "Haha.", "Shiok!", "Steady lah.", "Jialat.", "Just saying lah.", "Hahaha.", "Bo jio ah.",
    "Can or not?", "Don't play play.", "Sian.",
)
ZH_CLOSERS = ("哈哈。", "真的。", "唉。", "好啦。", "加油！")

# Agreement that carries its meaning only through the message it replies to.
AGREE = (
    "+1", "Agree with you, this one correct lah.", "This. 100%.", "Exactly what I wanted to say.",
    "Ya lor, you said it better than me.", "Cannot agree more sia.", "Finally someone said it.",
    "Same thoughts here bro.", "Spot on. Nothing to add.", "Wah, you took the words out of my"
    " mouth.", "Bro, say until very correct.", "Yes yes, this one.",
)
ZH_AGREE = ("同意你的看法。", "說得好，我也是這樣想。", "对对对，就是这样。", "+1，我也这么觉得。")
# Filler replies to filler messages; agreement with a message that expresses nothing is neutral.
REPLIES = AGREE + (
    "Haha true", "Same here", "LOL", "Steady bro", "Where got?", "Then how?", "Can elaborate?",
    "Really meh?", "Source?", "Bo jio!", "Noted with thanks.", "Hahaha die liao",
    "Wah you very free ah.", "Paiseh, misread your post.", "Thanks for sharing!",
)
ZH_REPLIES = ZH_AGREE + ("哈哈哈", "真的假的？", "谢谢分享！", "有道理哦。", "我也想知道。")

EXPLICIT_FRAMES = (
    "I think {c}.", "Honestly, {c} lah.", "For me ah, {c}. Simple as that.",
    "Bottom line is {c}.", "{s}. Don't need to argue so much one.", "My two cents: {c}.",
    "After reading everything here, I'm convinced {c}.", "Walao, why nobody says it? {s}!",
    "Confirm plus chop, {c}.", "No need to overthink lah, {c}.", "{s}, full stop.",
    "I'll say it again: {c}.",
)
SENTENCE_FRAMES = (
    "{p}", "{p}", "{p} That's my view lah.", "Ya lor. {p}", "I'll say it straight. {p}",
    "{p} Simple as that.", "Speaking from experience: {p}",
)
OPPOSE_FRAMES = (
    "{p}", "{p}", "{p} That's my honest opinion.", "Let me be the odd one out. {p}",
    "{p} Don't simply follow the crowd.", "Actually hor, {p}",
)
DISAGREE_PREFIXES = (
    "Don't agree with you leh.", "Eh no lah, I see it differently.", "Sorry, cannot agree.",
)
ZH_DISAGREE_PREFIXES = ("我不同意。", "这个我不认同。")
ASK_FRAMES = (
    "Is it true that {c}? Genuinely asking.", "Can someone explain whether {c}? I really dunno.",
    "Wait, so {c} or not ah?", "Got any data showing that {c}?",
    "Honest question: does anyone know if {c}?",
    "Still can't decide whether {c}. What do you all think?",
)
REPORT_FRAMES = (
    "My uncle keeps saying {c}, but I not so sure leh.",
    "My colleague says {c}. I dunno, need to read up first.",
    "Saw a Facebook post claiming {c}. Not sure how true.",
    "During the dialogue session one speaker said {c}, but let's see lah.",
    "My mother-in-law always says {c}, I just nod and smile haha.",
    "The newspaper quoted someone saying {c}. I reserve my judgement.",
)
ZH_YES_FRAMES = ("{p}", "{p}", "说真的，{p}", "{p}这是我的看法。", "老实讲，{p}")
ZH_NO_FRAMES = ("{p}", "{p}大家不要被误导。", "老实说，{p}")
ZH_ASK_FRAMES = ("真的{c}吗？有人知道吗？", "请问{c}是真的吗？", "{c}？我不太确定，有没有数据？")
ZH_REPORT_FRAMES = ("我叔叔一直说{c}，但我不太确定。", "網上有人說{c}，不知道真假。", "我同事说{c}，我还要再看看。")

GIVEN_NAMES = (
    "Wei Ming", "Hui Ling", "Siti", "Rajesh", "Nurul", "Kelvin", "Priya", "Ahmad", "Jasmine",
    "Darren", "Farah", "Ganesh", "Mei Ling", "Hafiz", "Shanti", "Jun Jie", "Aisyah", "Vikram",
    "Xin Yi", "Zul", "Cheryl", "Arjun", "Bee Hoon", "Irfan", "Kumar", "Li Ting", "Marcus",
    "Nadia", "Peter", "Rachel", "Syafiq", "Ting Ting", "Uma", "Vincent", "Wen Jie", "Yusof",
    "Zhi Hao", "Grace", "Benjamin", "Aaron",
)
SURNAMES = (
    "Tan", "Lim", "Lee", "Ng", "Ong", "Wong", "Goh", "Chua", "Koh", "Teo", "Ang", "Yeo", "Chan",
    "Low", "Sim", "Rahman", "Ismail", "Hassan", "Pillai", "Nair", "Singh", "Menon", "De Souza",
    "Fernandez",
)
HANDLES = (
    "kiasu_dad", "hawker_hunter", "mrt_warrior", "laksa_lover", "ah_boy", "ns_man",
    "aunty_kopi", "punggol_mummy", "tampines_tiger", "uncle_lim", "bto_waiting", "chope_king",
    "durian_fan", "sgcommuter", "teh_peng", "heartlander", "kopitiam_philosopher",
    "void_deck_uncle", "prata_kosong", "shiok_ah",
)

# Event kinds. "no" kinds: oppose, agree_oppose (agrees with an "oppose"), ask, report, none.
YES_KINDS = ("explicit", "paraphrase", "chinese", "agree")
STANDALONE_YES = ("explicit", "paraphrase", "chinese")
# Windows of relative character offset for planted key messages, and the narrower target
# ranges aimed at so that the message lands inside its window.
POSITION_WINDOWS = {"start": (0.0, 0.10), "middle": (0.45, 0.55), "end": (0.90, 1.0)}
POSITION_TARGETS = {"start": (0.005, 0.04), "middle": (0.47, 0.50), "end": (0.90, 0.93)}
DEMO_SEED = 2024
DEMO_CONVERSATIONS = 16
DEMO_LONG = 6
LONG_MIN_CHARS = 50_000  # below this one filler message could push a planted one out of window
SGT = timezone(timedelta(hours=8))


class _Slots(dict):
    """format_map source that draws a fresh value for every placeholder."""

    def __init__(self, rng: Random):
        super().__init__()
        self.rng = rng

    def __missing__(self, key: str) -> str:
        return self.rng.choice(SLOTS[key])


def clause(sentence: str) -> str:
    """The statement as a clause ("I think raising the ..."), keeping acronyms and names."""
    first = sentence.split(" ", 1)[0]
    if first[1:].islower() and first not in ("Singapore", "Healthier"):
        return sentence[0].lower() + sentence[1:]
    return sentence


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@dataclass
class _Event:
    """One key message: what it says about which statement, and where it goes."""

    author: str
    statement: int
    kind: str
    zh: bool
    window: str | None
    frac: float = 0.0
    parent: int | None = None  # index of the event it replies to
    text: str = ""


@dataclass
class _Conversation:
    messages: list[dict]
    stances: list[dict]  # contract rows with a "label" column
    kinds: list[str]  # kind behind each stance row, for annotator difficulty
    planted: list[dict]


def _author_names(rng: Random, n: int) -> list[str]:
    names: list[str] = []
    while len(names) < n:
        given, surname = rng.choice(GIVEN_NAMES), rng.choice(SURNAMES)
        style = rng.randrange(5)
        if style == 0:
            name = f"{given} {surname}"
        elif style == 1:
            name = f"{given.replace(' ', '').lower()}{rng.randint(1, 99)}"
        elif style == 2:
            name = f"{rng.choice(HANDLES)}{rng.choice(('', str(rng.randint(1, 999))))}"
        elif style == 3:
            name = f"{rng.choice(('Mdm', 'Mr', 'Uncle', 'Aunty'))} {surname}"
        else:
            name = f"{given.split()[0].lower()}_{surname.lower().replace(' ', '')}"
        if name not in names:
            names.append(name)
    return names


def _zh_rates(rng: Random, authors: Sequence[str]) -> dict[str, float]:
    """Share of each author's messages in Chinese: most write English, some mix in
    Chinese, a few write mostly Chinese. About one message in seven overall."""
    return {a: rng.choice((0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.03, 0.3, 0.3, 0.6))
            for a in authors}


def _writes_chinese(rng: Random, zh_rate: float) -> bool:
    """Language of a key message; Chinese a little more often than in filler so that
    Chinese statements and rejections are well represented."""
    return rng.random() < max(zh_rate, 0.15)


def _sentences(rng: Random, slots: _Slots, topic: Topic, zh: bool, n: int) -> list[str]:
    pools = (topic.zh_neutral, ZH_CHATTER) if zh else (topic.neutral, CHATTER)
    templates: list[str] = []
    while len(templates) < n:
        template = rng.choice(pools[0] if rng.random() < 0.4 else pools[1])
        if template not in templates:
            templates.append(template)
    return [t.format_map(slots) for t in templates]


def _join(parts: list[str], zh: bool) -> str:
    return ("" if zh else " ").join(parts)


def _filler_text(rng: Random, slots: _Slots, topic: Topic, zh: bool, reply: bool) -> str:
    """A message that takes no side: quip, reply, one-liner or a rambling paragraph."""
    roll = rng.random()
    if reply and roll < 0.5:
        return rng.choice(ZH_REPLIES if zh else REPLIES)
    if not zh and roll < 0.12:
        return rng.choice(QUIPS)
    n = rng.choices((1, 2, 3, 4, 5, 7, 9), (30, 25, 18, 10, 8, 6, 3))[0]
    parts = _sentences(rng, slots, topic, zh, n)
    if zh:
        if rng.random() < 0.2:
            parts.append(rng.choice(ZH_CLOSERS))
    else:
        if rng.random() < 0.25:
            parts.insert(0, rng.choice(INTERJECTIONS))
        if rng.random() < 0.2:
            parts.append(rng.choice(CLOSERS))
    return _join(parts, zh)


def _key_text(rng: Random, slots: _Slots, topic: Topic, st: Statement, event: _Event,
              disagrees_with_parent: bool) -> str:
    """The message that carries an event's stance, padded with neutral sentences."""
    if event.kind in ("agree", "agree_oppose"):
        return rng.choice(ZH_AGREE if event.zh else AGREE)
    zh = event.zh
    if event.kind == "ask":
        core = rng.choice(ZH_ASK_FRAMES if zh else ASK_FRAMES).format(
            c=st.zh_claim if zh else clause(st.text))
    elif event.kind == "report":
        core = rng.choice(ZH_REPORT_FRAMES if zh else REPORT_FRAMES).format(
            c=st.zh_claim if zh else clause(st.text))
    elif event.kind == "oppose":
        core = rng.choice(ZH_NO_FRAMES if zh else OPPOSE_FRAMES).format(
            p=rng.choice(st.zh_no if zh else st.opposites))
        if disagrees_with_parent:
            core = _join([rng.choice(ZH_DISAGREE_PREFIXES if zh else DISAGREE_PREFIXES), core], zh)
    elif zh:
        core = rng.choice(ZH_YES_FRAMES).format(p=rng.choice(st.zh_yes))
    elif event.kind == "explicit":
        core = rng.choice(EXPLICIT_FRAMES).format(c=clause(st.text), s=st.text)
    else:
        core = rng.choice(SENTENCE_FRAMES).format(p=rng.choice(st.paraphrases))
    before = _sentences(rng, slots, topic, zh, rng.choice((0, 0, 0, 1, 1, 2)))
    after = _sentences(rng, slots, topic, zh, rng.choice((0, 0, 0, 1)))
    return _join(before + [core] + after, zh)


def _place_events(rng: Random, events: list[_Event]) -> None:
    """Give each event a target relative offset and, for replies, the message it answers.

    Replies land shortly after their parent. Agreement needs a parent: the plan guarantees
    one (a standalone "yes", or an "oppose", on the same statement). A plan gives each author
    at most one role per statement, so nobody answers their own key message."""
    for event in events:
        if event.kind not in ("agree", "agree_oppose"):
            low, high = POSITION_TARGETS[event.window] if event.window else (0.01, 0.95)
            event.frac = rng.uniform(low, high)
    for i, event in enumerate(events):
        if event.kind in ("agree", "agree_oppose", "oppose", "ask"):
            wanted = ("oppose",) if event.kind == "agree_oppose" else STANDALONE_YES
            parents = [j for j, other in enumerate(events)
                       if other.statement == event.statement and other.kind in wanted
                       and (event.kind in ("agree", "agree_oppose") or other.frac < event.frac)]
            if event.kind in ("agree", "agree_oppose"):
                event.parent = rng.choice(parents)
                event.frac = min(events[event.parent].frac + rng.uniform(0.002, 0.06), 0.999)
            elif parents and rng.random() < 0.35:
                event.parent = rng.choice(parents)


def _timestamps(rng: Random, n: int) -> list[str]:
    """Strictly increasing times: mostly minutes apart, sometimes hours."""
    t = datetime(2023, 1, 2, tzinfo=SGT) + timedelta(
        days=rng.randrange(700), hours=rng.randint(7, 21), minutes=rng.randrange(60))
    out = []
    for _ in range(n):
        out.append(t.isoformat())
        roll = rng.random()
        if roll < 0.65:
            gap = rng.randint(60, 1200)
        elif roll < 0.93:
            gap = rng.randint(1200, 7200)
        else:
            gap = rng.randint(7200, 36000)
        t += timedelta(seconds=gap)
    return out


def _build_conversation(rng: Random, conversation_id: str, topic: Topic,
                        statements: Sequence[Statement], zh_rate: dict[str, float],
                        target_chars: int, plan: Sequence[_Event]) -> _Conversation:
    """Shared core of both modes: neutral filler around the planned key messages.

    Filler is generated until the thread reaches target_chars, then key messages are
    merged in at their target offsets. Filler only ever replies to filler, so a "+1"
    in filler never agrees with a stance."""
    slots = _Slots(rng)
    authors = list(zh_rate)
    activity = [rng.paretovariate(1.3) for _ in authors]
    events = list(plan)
    _place_events(rng, events)
    for event in events:
        parent = events[event.parent] if event.parent is not None else None
        event.text = _key_text(rng, slots, topic, statements[event.statement], event,
                               parent is not None and event.kind == "oppose")
    key_chars = sum(len(e.text) for e in events)

    # Filler: (author, text, index of the filler message it replies to).
    opener_zh = rng.random() < 0.15
    opener = rng.choice(ZH_OPENERS if opener_zh else OPENERS).format(
        title=topic.title, zh_title=topic.zh_title)
    filler: list[tuple[str, str, int | None]] = [(rng.choice(authors), opener, None)]
    filler_chars = len(opener)
    while filler_chars < target_chars - key_chars:
        parent = None
        if len(filler) > 1 and rng.random() < 0.3:
            parent = len(filler) - 1 if rng.random() < 0.5 else rng.randrange(
                max(0, len(filler) - 12), len(filler))
        author = rng.choices(authors, activity)[0]
        if parent is not None and author == filler[parent][0]:
            author = rng.choices(authors, activity)[0]
        text = _filler_text(rng, slots, topic, rng.random() < zh_rate[author], parent is not None)
        filler.append((author, text, parent))
        filler_chars += len(text)

    # Everyone in the author list posts at least once: take over a message from a regular.
    counts = {a: 0 for a in authors}
    for author, _, _ in filler:
        counts[author] += 1
    for event in events:
        counts[event.author] += 1
    for author in authors:
        if counts[author] == 0:
            i = rng.choice([i for i, f in enumerate(filler) if counts[f[0]] > 1])
            counts[filler[i][0]] -= 1
            counts[author] += 1
            filler[i] = (author, filler[i][1], filler[i][2])

    # Merge key messages into the filler at their target offsets.
    total = filler_chars + key_chars
    order = sorted(range(len(events)), key=lambda i: events[i].frac)
    rows: list[tuple[str, str, tuple[str, int] | None]] = []
    filler_pos: list[int] = []
    event_pos = [0] * len(events)
    offsets: list[int] = []
    emitted = 0
    k = 0

    def emit_events(limit: float) -> None:
        nonlocal emitted, k
        while k < len(order) and events[order[k]].frac * total <= limit:
            event = events[order[k]]
            if event.parent is not None:
                ref = ("e", event.parent)
            elif filler_pos and rng.random() < 0.15:
                ref = ("f", rng.randrange(max(0, len(filler_pos) - 12), len(filler_pos)))
            else:
                ref = None
            event_pos[order[k]] = len(rows)
            offsets.append(emitted)
            rows.append((event.author, event.text, ref))
            emitted += len(event.text)
            k += 1

    for author, text, parent in filler:
        emit_events(emitted)
        filler_pos.append(len(rows))
        offsets.append(emitted)
        rows.append((author, text, None if parent is None else ("f", parent)))
        emitted += len(text)
    emit_events(float("inf"))

    ids = [f"m{i + 1:05d}" for i in range(len(rows))]
    times = _timestamps(rng, len(rows))
    messages = []
    for i, (author, text, ref) in enumerate(rows):
        reply_to = None
        if ref is not None:
            reply_to = ids[filler_pos[ref[1]] if ref[0] == "f" else event_pos[ref[1]]]
        messages.append({"conversation_id": conversation_id, "message_id": ids[i],
                         "author": author, "timestamp": times[i], "text": text,
                         "reply_to": reply_to})

    role = {(e.author, e.statement): e.kind for e in events}
    stances, kinds = [], []
    for s, st in enumerate(statements):
        for author in sorted(authors):
            kind = role.get((author, s), "none")
            stances.append({"conversation_id": conversation_id, "statement_id": st.id,
                            "statement": st.text, "contributor": author,
                            "label": "yes" if kind in YES_KINDS else "no"})
            kinds.append(kind)

    planted = []
    for i, event in enumerate(events):
        if event.window is None:
            continue
        offset = offsets[event_pos[i]] / total
        low, high = POSITION_WINDOWS[event.window]
        if not low <= offset < high:
            raise RuntimeError(f"{conversation_id}: planted message at {offset:.3f}, "
                               f"outside the {event.window} window")
        planted.append({"conversation_id": conversation_id,
                        "statement_id": statements[event.statement].id,
                        "contributor": event.author, "message_id": ids[event_pos[i]],
                        "position": event.window, "relative_offset": round(offset, 4)})
    return _Conversation(messages, stances, kinds, planted)


def _standalone_kind(rng: Random, zh: bool) -> str:
    return "chinese" if zh else rng.choice(("explicit", "paraphrase"))


def _demo_plan(rng: Random, zh_rate: dict[str, float], n_statements: int) -> list[_Event]:
    """Roles per statement: about a quarter "yes" (some only by agreeing with a reply),
    a few hard negatives, the rest unrelated chatter."""
    plan = []
    n = len(zh_rate)
    for s in range(n_statements):
        order = rng.sample(list(zh_rate), n)
        n_yes = max(1, round(n * rng.uniform(0.15, 0.35)))
        roles = ["yes"] * n_yes
        roles += ["oppose"] * round(n * rng.uniform(0.05, 0.2))
        if "oppose" in roles and rng.random() < 0.4:
            roles.append("agree_oppose")
        roles += ["ask"] * rng.randint(0, 1 + n // 8) + ["report"] * rng.randint(0, 1 + n // 8)
        for i, (author, r) in enumerate(zip(order, roles)):
            zh = _writes_chinese(rng, zh_rate[author])
            if r == "yes":
                kind = "agree" if i > 0 and rng.random() < 0.3 else _standalone_kind(rng, zh)
                zh = kind == "chinese" or (kind == "agree" and zh)
            else:
                kind = r
            plan.append(_Event(author, s, kind, zh, None))
    return plan


def _long_plan(rng: Random, zh_rate: dict[str, float], positions: Sequence[str]) -> list[_Event]:
    """One planted "yes" per position (each on its own statement) and hard negatives by
    other authors anywhere in the thread."""
    plan = []
    authors = list(zh_rate)
    yes_authors = rng.sample(authors, len(positions))
    for s, (position, yes_author) in enumerate(zip(positions, yes_authors)):
        zh = _writes_chinese(rng, zh_rate[yes_author])
        plan.append(_Event(yes_author, s, _standalone_kind(rng, zh), zh, position))
        others = rng.sample([a for a in authors if a != yes_author], 7)
        roles = ["oppose"] * rng.randint(1, 3) + ["ask"] * rng.randint(1, 2)
        roles += ["report"] * rng.randint(0, 1) + ["agree_oppose"] * rng.randint(0, 1)
        for author, kind in zip(others, roles):
            plan.append(_Event(author, s, kind, _writes_chinese(rng, zh_rate[author]), None))
    return plan


def _annotate(seed: int, stances: list[dict], kinds: list[str]) -> list[dict]:
    """Three annotators who agree except on about a tenth of the pairs, where one of them
    dissents. Dissent is drawn with weights that favour the hard cases."""
    rng = Random(f"annotators:{seed}")
    weight = {"explicit": 1, "paraphrase": 2, "chinese": 2, "agree": 5, "oppose": 2,
              "agree_oppose": 5, "ask": 3, "report": 5, "none": 0.3}
    keys = [rng.random() ** (1 / weight[k]) for k in kinds]
    n_dissent = round(0.10 * len(stances))
    dissent = set(sorted(range(len(stances)), key=lambda i: -keys[i])[:n_dissent])
    rows = []
    for i, row in enumerate(stances):
        labels = [row["label"]] * 3
        if i in dissent:
            labels[rng.randrange(3)] = "no" if row["label"] == "yes" else "yes"
        rows.append({k: row[k] for k in ("conversation_id", "statement_id", "statement",
                                         "contributor")}
                    | {"annotator_1": labels[0], "annotator_2": labels[1],
                       "annotator_3": labels[2]})
    return rows


def generate_demo(seed: int = DEMO_SEED) -> tuple[list[dict], list[dict]]:
    """The 16-conversation demo set: 6 long threads (>= 30,000 characters, 10-18 authors)
    and 10 short ones (2,000-8,000 characters, 3-8 authors), with annotator labels."""
    rng = Random(f"demo:{seed}")
    long_ids = sorted(rng.sample(range(DEMO_CONVERSATIONS), DEMO_LONG))
    topics = rng.sample(TOPICS, len(TOPICS)) + rng.sample(TOPICS, DEMO_CONVERSATIONS - len(TOPICS))
    messages, stances, kinds = [], [], []
    for i in range(DEMO_CONVERSATIONS):
        conversation_id = f"demo-{i + 1:02d}"
        crng = Random(f"{seed}:{conversation_id}")
        if i in long_ids:
            n_authors, target, n_statements = crng.randint(10, 18), crng.randint(30_500, 34_000), \
                crng.randint(3, 4)
        else:
            n_authors, target, n_statements = crng.randint(3, 8), crng.randint(2_200, 6_000), \
                crng.randint(2, 3)
        statements = crng.sample(topics[i].statements, n_statements)
        zh_rate = _zh_rates(crng, _author_names(crng, n_authors))
        conv = _build_conversation(crng, conversation_id, topics[i], statements, zh_rate, target,
                                   _demo_plan(crng, zh_rate, n_statements))
        messages += conv.messages
        stances += conv.stances
        kinds += conv.kinds
    return messages, _annotate(seed, stances, kinds)


def generate_long(seed: int, n_conversations: int, chars: int, authors: int,
                  positions: Sequence[str]) -> tuple[list[dict], list[dict], list[dict]]:
    """Long threads (chars characters each, a little more in practice) with one planted
    key message per entry of positions, each on a different statement of the topic.

    Returns messages, stances (label column) and planted (where each planted message is)."""
    if not positions or any(p not in POSITION_WINDOWS for p in positions):
        raise ValueError(f"positions must be a non-empty list drawn from {list(POSITION_WINDOWS)}")
    if len(positions) > min(len(t.statements) for t in TOPICS):
        raise ValueError("at most one planted message per statement of a topic")
    if chars < LONG_MIN_CHARS:
        raise ValueError(f"chars must be at least {LONG_MIN_CHARS}")
    if authors < 10:
        raise ValueError("authors must be at least 10")
    rng = Random(f"long:{seed}")
    order = rng.sample(TOPICS, len(TOPICS))
    messages, stances, planted = [], [], []
    for i in range(n_conversations):
        conversation_id = f"long-{seed}-{i + 1:03d}"
        crng = Random(f"{seed}:{conversation_id}")
        topic = order[i % len(order)]
        statements = crng.sample(topic.statements, len(positions))
        zh_rate = _zh_rates(crng, _author_names(crng, authors))
        conv = _build_conversation(crng, conversation_id, topic, statements, zh_rate, chars,
                                   _long_plan(crng, zh_rate, positions))
        messages += conv.messages
        stances += conv.stances
        planted += conv.planted
    return messages, stances, planted




def describe(messages: Sequence[dict], stances: Sequence[dict]) -> dict:
    """Headline counts of a generated set (gold = majority of annotators, or label)."""
    def gold(row: dict) -> str:
        if "label" in row:
            return row["label"]
        votes = [row[f"annotator_{i}"] for i in (1, 2, 3)]
        return "yes" if votes.count("yes") >= 2 else "no"

    return {
        "conversations": len({m["conversation_id"] for m in messages}),
        "messages": len(messages),
        "characters": sum(len(m["text"]) for m in messages),
        "authors": len({(m["conversation_id"], m["author"]) for m in messages}),
        "stances": len(stances),
        "yes_rate": round(sum(gold(r) == "yes" for r in stances) / len(stances), 3),
        "chinese_share": round(sum(has_chinese(m["text"]) for m in messages) / len(messages), 3),
        "replies": round(sum(m["reply_to"] is not None for m in messages) / len(messages), 3),
        "annotator_disagreements": sum(
            len({r[f"annotator_{i}"] for i in (1, 2, 3)}) > 1 for r in stances
            if "annotator_1" in r),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    demo = sub.add_parser("demo", help="the fixed 16-conversation demo set")
    demo.add_argument("--out", type=Path, default=Path("data/demo"))
    demo.add_argument("--seed", type=int, default=DEMO_SEED)
    long = sub.add_parser("long", help="long threads with planted key messages")
    long.add_argument("--out", type=Path, required=True)
    long.add_argument("--conversations", type=int, default=4)
    long.add_argument("--chars", type=int, default=150_000)
    long.add_argument("--authors", type=int, default=40)
    long.add_argument("--seed", type=int, default=0)
    long.add_argument("--positions", default="start,middle,end",
                      help="comma-separated: start, middle, end")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    if args.mode == "demo":
        messages, stances = generate_demo(args.seed)
        files = {"messages.jsonl": messages, "stances.jsonl": stances}
    else:
        messages, stances, planted = generate_long(args.seed, args.conversations, args.chars,
                                                   args.authors, args.positions.split(","))
        files = {"messages.jsonl": messages, "stances.jsonl": stances, "planted.jsonl": planted}
    elapsed = time.perf_counter() - started
    args.out.mkdir(parents=True, exist_ok=True)
    for name, rows in files.items():
        write_jsonl(args.out / name, rows)
    print(json.dumps(describe(messages, stances) | {"seconds": round(elapsed, 2)}))


if __name__ == "__main__":
    main()
