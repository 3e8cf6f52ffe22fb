"""What the registry brings to the platform (core.scenarios): Shanghai's regions, agencies
and posts, and the registry's pages in the header."""

from smartsite.core.scenarios import Declaration, NavEntry

DECLARATION = Declaration(
    app="core",
    name="基础登记",
    reference=(
        ("regions", "smartsite.core.reference.load_regions"),
        ("agencies", "smartsite.core.reference.load_agencies"),
        ("posts", "smartsite.core.reference.load_posts"),
    ),
    nav=(
        NavEntry("首页", "home", order=0),
        NavEntry("项目", "core:project_list", order=60),
        NavEntry("企业", "core:enterprise_list", order=61),
        NavEntry("人员", "core:person_list", order=62),
        NavEntry("区划", "core:region_list", order=80, visible="smartsite.core.navigation.regulator"),
        NavEntry("审计", "core:audit_list", order=85,
                 visible="smartsite.core.navigation.audit_reader"),
        NavEntry("用户", "core:user_list", order=95, visible="smartsite.core.navigation.city_admin"),
    ),
    access="smartsite.core.access",
)
