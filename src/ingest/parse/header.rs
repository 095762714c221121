//! Column names: the canonical columns of each layout, the aliases Chinese and English exports use
//! for them, and recognising a file's layout from its header.
//!
//! Header names are compared after trimming, dropping a byte-order mark and quotes, ASCII case-folding,
//! and ignoring spaces, `_` and `-` (so `Start Time`, `start_time` and `START-TIME` are one name).

use super::Layout;

/// A canonical column. Each layout uses a subset; `Ignored` marks known columns a layout does not read
/// (so they are not reported as unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Col {
    Caller,
    Callee,
    ThisNumber,
    OtherNumber,
    CallType,
    StartTime,
    Duration,
    Imei,
    Imsi,
    Cell,
    Lac,
    Ci,
    FromAccount,
    ToAccount,
    Card,
    AccountNo,
    Holder,
    Amount,
    Time,
    Flag,
    CounterAccount,
    CounterName,
    CashFlag,
    TxId,
    Channel,
    FromName,
    ToName,
    Memo,
    Ip,
    Mac,
    PersonKey,
    Name,
    IdNumber,
    Roles,
    Phones,
    Accounts,
    Devices,
    Wallets,
    Status,
    Notes,
    From,
    To,
    Kind,
    Note,
    Source,
    Ignored,
}

/// Number of canonical columns (the size of a column index table).
pub(crate) const COLS: usize = Col::Ignored as usize + 1;

type Aliases = &'static [(Col, &'static [&'static str])];

const SOURCE: (Col, &[&str]) = (Col::Source, &["source", "来源", "数据来源", "调单来源"]);

const CALLS: Aliases = &[
    (
        Col::Caller,
        &[
            "caller",
            "calling_number",
            "a_number",
            "主叫号码",
            "主叫",
            "主叫号",
        ],
    ),
    (
        Col::Callee,
        &[
            "callee",
            "called_number",
            "b_number",
            "被叫号码",
            "被叫",
            "被叫号",
        ],
    ),
    (
        Col::StartTime,
        &[
            "start_time",
            "time",
            "call_time",
            "start",
            "通话起始时间",
            "起始时间",
            "开始时间",
            "通话开始时间",
            "通话时间",
            "呼叫时间",
            "时间",
        ],
    ),
    (
        Col::Duration,
        &[
            "duration_s",
            "duration",
            "seconds",
            "通话时长",
            "时长",
            "通话时长(秒)",
            "时长(秒)",
        ],
    ),
    (Col::Imei, &["imei", "串号", "手机串号", "imei号"]),
    (
        Col::Cell,
        &[
            "cell_id",
            "cell",
            "cgi",
            "基站",
            "基站号",
            "小区",
            "小区号",
            "基站编号",
        ],
    ),
    (Col::Imsi, &["imsi", "imsi号"]),
    SOURCE,
];

const CARRIER_CALLS: Aliases = &[
    (
        Col::ThisNumber,
        &[
            "本机号码",
            "用户号码",
            "本方号码",
            "机主号码",
            "查询号码",
            "this_number",
            "msisdn",
            "own_number",
        ],
    ),
    (
        Col::OtherNumber,
        &["对方号码", "对端号码", "other_number", "peer_number"],
    ),
    (
        Col::CallType,
        &["呼叫类型", "通话类型", "话单类型", "call_type", "类型"],
    ),
    (
        Col::StartTime,
        &[
            "通话起始时间",
            "起始时间",
            "开始时间",
            "通话开始时间",
            "通话时间",
            "呼叫时间",
            "时间",
            "start_time",
            "time",
        ],
    ),
    (
        Col::Duration,
        &[
            "通话时长",
            "时长",
            "通话时长(秒)",
            "时长(秒)",
            "duration_s",
            "duration",
        ],
    ),
    (Col::Imei, &["imei", "串号", "手机串号", "imei号"]),
    (Col::Imsi, &["imsi", "imsi号"]),
    (
        Col::Lac,
        &["lac", "tac", "位置区", "位置区码", "lac号", "tac号"],
    ),
    (
        Col::Ci,
        &["ci", "eci", "nci", "小区识别码", "小区号", "ci号", "eci号"],
    ),
    (
        Col::Cell,
        &["基站", "基站号", "基站编号", "cell_id", "cell", "cgi"],
    ),
    SOURCE,
    (
        Col::Ignored,
        &[
            "对方号码归属地",
            "对方归属地",
            "对方运营商",
            "本机通话地",
            "通话地",
            "漫游类型",
            "本机归属地",
            "序号",
            "基站地址",
            "经度",
            "纬度",
            "通话地点",
            "对方通话地",
        ],
    ),
];

const TRANSFERS: Aliases = &[
    (
        Col::FromAccount,
        &[
            "from_account",
            "payer_account",
            "付款账号",
            "付款卡号",
            "转出账号",
            "转出卡号",
            "付款方账号",
        ],
    ),
    (
        Col::ToAccount,
        &[
            "to_account",
            "payee_account",
            "收款账号",
            "收款卡号",
            "转入账号",
            "转入卡号",
            "收款方账号",
        ],
    ),
    (Col::Amount, &["amount", "金额", "交易金额", "转账金额"]),
    (
        Col::Time,
        &["time", "tx_time", "时间", "交易时间", "转账时间"],
    ),
    (
        Col::TxId,
        &["tx_id", "transaction_id", "交易流水号", "流水号", "交易号"],
    ),
    (Col::Channel, &["channel", "渠道", "交易渠道"]),
    (
        Col::FromName,
        &[
            "from_name",
            "payer_name",
            "付款户名",
            "付款人",
            "付款方户名",
            "转出户名",
        ],
    ),
    (
        Col::ToName,
        &[
            "to_name",
            "payee_name",
            "收款户名",
            "收款人",
            "收款方户名",
            "转入户名",
        ],
    ),
    (Col::Memo, &["memo", "summary", "摘要", "摘要说明", "用途"]),
    (Col::Ip, &["ip", "ip_address", "ip地址"]),
    (Col::Mac, &["mac", "mac_address", "mac地址"]),
    SOURCE,
];

const BANK_STATEMENT: Aliases = &[
    (
        Col::Card,
        &["交易卡号", "卡号", "查询卡号", "card", "card_number"],
    ),
    (
        Col::AccountNo,
        &["交易账号", "账号", "查询账号", "account", "account_number"],
    ),
    (
        Col::Holder,
        &[
            "交易户名",
            "户名",
            "账户名称",
            "客户名称",
            "holder",
            "account_name",
        ],
    ),
    (
        Col::Time,
        &["交易时间", "时间", "交易日期", "time", "tx_time"],
    ),
    (Col::Amount, &["交易金额", "金额", "发生额", "amount"]),
    (
        Col::Flag,
        &[
            "收付标志",
            "借贷标志",
            "借贷方向",
            "收支标志",
            "资金流向",
            "收付方向",
            "direction",
            "dc_flag",
            "flag",
        ],
    ),
    (
        Col::CounterAccount,
        &[
            "交易对手账卡号",
            "对手账卡号",
            "交易对手账号",
            "对手账号",
            "对手卡号",
            "对方账号",
            "对方卡号",
            "counterparty_account",
        ],
    ),
    (
        Col::CounterName,
        &[
            "对手户名",
            "交易对手户名",
            "对方户名",
            "对手名称",
            "counterparty_name",
        ],
    ),
    (Col::TxId, &["交易流水号", "流水号", "tx_id"]),
    (Col::Memo, &["摘要说明", "摘要", "memo", "summary"]),
    (Col::Ip, &["ip地址", "ip", "ip_address"]),
    (Col::Mac, &["mac地址", "mac", "mac_address"]),
    (Col::CashFlag, &["现金标志", "cash_flag"]),
    SOURCE,
    (
        Col::Ignored,
        &[
            "开户人证件号码",
            "交易余额",
            "余额",
            "对手身份证号",
            "对手开户银行",
            "交易币种",
            "币种",
            "交易网点名称",
            "交易网点代码",
            "交易发生地",
            "交易是否成功",
            "传票号",
            "终端号",
            "对手交易余额",
            "日志号",
            "凭证种类",
            "凭证号",
            "交易柜员号",
            "商户名称",
            "商户号",
            "备注",
            "交易类型",
            "查询反馈结果原因",
            "balance",
            "currency",
        ],
    ),
];

const PERSONS: Aliases = &[
    (
        Col::PersonKey,
        &["person_key", "person_id", "人员编号", "人员编码"],
    ),
    (Col::Name, &["name", "姓名", "名字"]),
    (
        Col::IdNumber,
        &[
            "id_number",
            "resident_id",
            "身份证号",
            "身份证号码",
            "公民身份号码",
            "证件号码",
            "身份证",
        ],
    ),
    (Col::Roles, &["roles", "role", "角色", "人员类别", "标签"]),
    (
        Col::Phones,
        &[
            "phones",
            "phone",
            "手机号",
            "手机号码",
            "电话",
            "联系电话",
            "电话号码",
        ],
    ),
    (
        Col::Accounts,
        &[
            "accounts",
            "account",
            "银行卡号",
            "银行账号",
            "账号",
            "卡号",
        ],
    ),
    (Col::Devices, &["devices", "device", "imei", "设备", "串号"]),
    (Col::Wallets, &["wallets", "wallet", "钱包地址", "钱包"]),
    (Col::Status, &["status", "状态", "人员状态"]),
    (Col::Notes, &["notes", "note", "备注", "说明"]),
    SOURCE,
];

const LINKS: Aliases = &[
    (Col::From, &["from", "from_ref", "起点", "主体"]),
    (Col::To, &["to", "to_ref", "终点", "对象"]),
    (Col::Kind, &["kind", "relation", "关系", "关系类型", "类型"]),
    (Col::Time, &["time", "date", "时间", "日期"]),
    (Col::Amount, &["amount", "金额"]),
    (Col::Note, &["note", "notes", "备注", "说明"]),
    SOURCE,
];

/// A requirement: at least one of these columns must be present.
type Required = &'static [&'static [Col]];

pub(crate) fn aliases(layout: Layout) -> Aliases {
    match layout {
        Layout::Calls => CALLS,
        Layout::CarrierCalls => CARRIER_CALLS,
        Layout::Transfers => TRANSFERS,
        Layout::BankStatement => BANK_STATEMENT,
        Layout::Persons => PERSONS,
        Layout::Links => LINKS,
        Layout::FtmJsonl => &[],
    }
}

pub(crate) fn required(layout: Layout) -> Required {
    match layout {
        Layout::Calls => &[&[Col::Caller], &[Col::Callee], &[Col::StartTime]],
        Layout::CarrierCalls => &[
            &[Col::ThisNumber],
            &[Col::OtherNumber],
            &[Col::CallType],
            &[Col::StartTime],
        ],
        Layout::Transfers => &[
            &[Col::FromAccount],
            &[Col::ToAccount],
            &[Col::Amount],
            &[Col::Time],
        ],
        Layout::BankStatement => &[&[Col::Card, Col::AccountNo], &[Col::Time], &[Col::Amount]],
        Layout::Persons => &[&[Col::PersonKey, Col::IdNumber]],
        Layout::Links => &[&[Col::From], &[Col::To], &[Col::Kind]],
        Layout::FtmJsonl => &[],
    }
}

/// Folds a header name for comparison.
pub(crate) fn fold(name: &str) -> String {
    name.trim_start_matches('\u{FEFF}')
        .trim()
        .trim_matches(['"', '\''])
        .chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-' | '\u{3000}' | '\t'))
        .map(|c| match c {
            '（' => '(',
            '）' => ')',
            c => c.to_ascii_lowercase(),
        })
        .collect()
}

/// A header mapped onto one layout.
#[derive(Clone, Debug)]
pub(crate) struct ColumnMap {
    /// For each canonical column, the index of its field in a row.
    pub index: [Option<u16>; COLS],
    /// Header names no alias of the layout knows.
    pub unknown: Vec<String>,
    /// Header names that repeat a column already mapped (the first one wins).
    pub duplicate: Vec<String>,
    /// How many header names the layout recognised.
    pub recognised: usize,
    /// Number of fields in the header.
    pub width: usize,
}

impl ColumnMap {
    pub(crate) fn build(layout: Layout, header: &[&str]) -> ColumnMap {
        let table = aliases(layout);
        let mut map = ColumnMap {
            index: [None; COLS],
            unknown: Vec::new(),
            duplicate: Vec::new(),
            recognised: 0,
            width: header.len(),
        };
        for (i, name) in header.iter().enumerate() {
            let f = fold(name);
            if f.is_empty() {
                continue;
            }
            let col = table
                .iter()
                .find(|(_, names)| names.iter().any(|n| fold(n) == f))
                .map(|(c, _)| *c);
            match col {
                Some(Col::Ignored) => map.recognised += 1,
                Some(c) => {
                    map.recognised += 1;
                    let slot = &mut map.index[c as usize];
                    if slot.is_none() {
                        *slot = u16::try_from(i).ok();
                    } else {
                        map.duplicate.push(name.trim().to_string());
                    }
                }
                None => map.unknown.push(name.trim().to_string()),
            }
        }
        map
    }

    pub(crate) fn satisfies(&self, layout: Layout) -> bool {
        required(layout)
            .iter()
            .all(|any| any.iter().any(|c| self.index[*c as usize].is_some()))
    }
}

/// The CSV layouts, most specific first (ties in the score go to the earlier one).
pub(crate) const CSV_LAYOUTS: [Layout; 6] = [
    Layout::CarrierCalls,
    Layout::Calls,
    Layout::BankStatement,
    Layout::Transfers,
    Layout::Links,
    Layout::Persons,
];

/// The layout whose required columns the header has, recognising the most header names.
pub(crate) fn detect(header: &[&str]) -> Option<(Layout, ColumnMap)> {
    let mut best: Option<(Layout, ColumnMap)> = None;
    for layout in CSV_LAYOUTS {
        let map = ColumnMap::build(layout, header);
        if !map.satisfies(layout) {
            continue;
        }
        if best
            .as_ref()
            .is_none_or(|(_, b)| map.recognised > b.recognised)
        {
            best = Some((layout, map));
        }
    }
    best
}

/// What a layout expects, for error messages and the docs: required columns first.
pub(crate) fn describe(layout: Layout) -> String {
    let table = aliases(layout);
    let name = |c: Col| {
        table
            .iter()
            .find(|(col, _)| *col == c)
            .map_or("?", |(_, names)| names[0])
    };
    let req: Vec<String> = required(layout)
        .iter()
        .map(|any| any.iter().map(|c| name(*c)).collect::<Vec<_>>().join("|"))
        .collect();
    let opt: Vec<&str> = table
        .iter()
        .filter(|(c, _)| *c != Col::Ignored && !required(layout).iter().any(|any| any.contains(c)))
        .map(|(_, names)| names[0])
        .collect();
    format!(
        "{}: {} [optional: {}]",
        layout.name(),
        req.join(", "),
        opt.join(", ")
    )
}
