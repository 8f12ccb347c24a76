/**
 * Name tokens so frequent worldwide that a full name made only of them ("Mohammed Ali", "Wang Wei",
 * "Maria Garcia") cannot identify anyone without corroboration, however rare it is in one node's own
 * records. Lower-case, accent-free Latin spellings (with the usual transliteration variants).
 */
const COMMON_TOKENS = `
mohammed muhammad mohamed mohammad muhammed mohamad mehmet mahmoud mahmud ahmed ahmad ali hassan hasan hussein
husein hussain hossein abdullah abdallah abdul abd abdel omar umar youssef yusuf yousef yosef joseph ibrahim
ebrahim ismail khalid khaled said saeed mustafa mostafa fatima fatma aisha ayesha zainab zeynep maryam mariam
amina amina khadija hamid hamed karim rahman salem salim nasser walid sami ali al el bin ibn ben abu bint
wang li zhang liu chen yang huang zhao wu zhou xu sun ma zhu hu guo he lin luo gao zheng liang xie song tang
wei fang jing min jun hui ying yan hong ming jie lei tao
kim lee park choi jung kang cho yoon jang lim han oh seo shin kwon hwang ahn song
nguyen tran le pham hoang huynh phan vu vo dang bui do ho ngo duong ly
singh kumar sharma patel khan shah gupta das devi lal ram rao reddy
smith johnson williams brown jones miller davis wilson taylor anderson thomas jackson white harris martin
thompson moore clark lewis walker hall allen young king wright
john james robert michael william david richard charles daniel paul mark george peter thomas
mary patricia jennifer linda elizabeth susan sarah anna maria marie
garcia rodriguez martinez hernandez lopez gonzalez perez sanchez ramirez torres flores rivera gomez diaz
jose juan luis carlos antonio francisco manuel pedro miguel
ivanov ivanova petrov petrova smirnov smirnova kuznetsov popov sokolov ivan alexander aleksandr sergei sergey
dmitry dmitri andrei andrey olga natalia elena tatiana
hans peter klaus jurgen juergen wolfgang stefan andreas thomas michael muller mueller schmidt schneider fischer
weber meyer wagner becker hoffmann schulz koch
martin bernard dubois thomas robert richard petit durand leroy moreau jean pierre
rossi russo ferrari esposito bianchi romano
nowak kowalski wisniewski
yilmaz kaya demir sahin celik yildiz yildirim ozturk aydin
papadopoulos georgios ioannis konstantinos dimitrios maria eleni
cohen levi mizrahi
`;

export const COMMON_NAME_TOKENS: ReadonlySet<string> = new Set(COMMON_TOKENS.split(/\s+/).filter(Boolean));

export function isCommonNameToken(latinToken: string): boolean {
  return COMMON_NAME_TOKENS.has(latinToken);
}
